namespace Tiered.Operator;

/// <summary>How <c>tiered operator</c> runs; the defaults are for a pod of its own Deployment (k8s/operator).</summary>
public sealed class OperatorOptions
{
    /// <summary>The namespace whose TieredClusters are reconciled; null: every namespace (the ClusterRole in k8s/operator allows that).</summary>
    public string? WatchNamespace { get; set; }

    /// <summary>Where the leader-election Lease lives (the operator's own namespace).</summary>
    public string LeaseNamespace { get; set; } = "default";

    public string LeaseName { get; set; } = "tiered-operator";

    /// <summary>This replica's name in the Lease (the pod name in a cluster).</summary>
    public string Identity { get; set; } = Environment.MachineName;

    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);
    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How soon a cluster in the middle of an operation (a pod starting, a bookie draining) is looked at again.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often every cluster is reconciled even without a change (drift of objects someone edited by hand).</summary>
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The admin API of a cluster; default its broker Service.</summary>
    public Func<TieredCluster, Uri> AdminUrl { get; set; } = c =>
        new Uri($"http://{ClusterResources.Name(c, Component.Broker)}.{c.Metadata.NamespaceProperty}.svc:{ClusterResources.BrokerHttpPort}/");

    /// <summary>A token for the admin API of clusters that check them (a superuser's).</summary>
    public string? AdminToken { get; set; }
}
