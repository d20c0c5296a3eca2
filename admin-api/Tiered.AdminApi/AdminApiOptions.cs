namespace Tiered.AdminApi;

/// <summary>How the admin API behaves on this broker; given to <see cref="AdminApi.AddTieredAdmin"/>.</summary>
public sealed record AdminApiOptions
{
    /// <summary>
    /// The cluster this broker belongs to ("standalone" in standalone). A namespace created without
    /// <c>replication_clusters</c> is replicated to this cluster only, as in Pulsar; null leaves the list empty.
    /// </summary>
    public string? ClusterName { get; init; }

    /// <summary>This broker as GET /admin/v2/brokers/{cluster} lists it: host:port of its admin API; null lists none.</summary>
    public string? BrokerId { get; init; }

    /// <summary>
    /// Bundles (units of ownership) a namespace is cut into when it is created without
    /// <c>bundles.numBundles</c>: the broker's --default-bundles (4 unless told otherwise, as Pulsar).
    /// </summary>
    public int DefaultBundles { get; init; } = Tiered.Broker.Ownership.NamespaceBundles.DefaultCount;

    /// <summary>
    /// Producer de-duplication where neither a topic nor its namespace sets it: the broker's
    /// --deduplication-enabled (on unless told otherwise). Only answered by GET …/deduplicationEnabled?applied=true;
    /// the broker itself decides from its own options.
    /// </summary>
    public bool DeduplicationEnabled { get; init; } = true;

    /// <summary>
    /// How long GET /admin/v2/bookies/all waits for each bookie's own report (disk use); the bookies
    /// are asked in parallel, and one that has not answered by then is listed as not answering.
    /// </summary>
    public TimeSpan BookieInfoTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Route of the generated OpenAPI document.</summary>
    public string OpenApiPath { get; init; } = "/admin/v2/openapi.json";

    /// <summary>Throws <see cref="ArgumentException"/> with the reason when a value is not usable.</summary>
    public void Validate()
    {
        if (ClusterName is not null && !Tiered.Broker.Naming.NamespaceName.IsValidPart(ClusterName))
            throw new ArgumentException($"Invalid cluster name '{ClusterName}': use 1-128 letters, digits or - _ = : . characters.", nameof(ClusterName));
        if (DefaultBundles is < 1 or > NamespacePolicyRules.MaxBundlesAtCreation)
            throw new ArgumentException($"The default number of bundles {DefaultBundles} must be from 1 to {NamespacePolicyRules.MaxBundlesAtCreation}.", nameof(DefaultBundles));
        if (BookieInfoTimeout <= TimeSpan.Zero || BookieInfoTimeout > TimeSpan.FromMinutes(1))
            throw new ArgumentException($"The bookie info timeout {BookieInfoTimeout} must be more than 0 and at most 1 minute.", nameof(BookieInfoTimeout));
        if (string.IsNullOrEmpty(OpenApiPath) || OpenApiPath[0] != '/')
            throw new ArgumentException($"The OpenAPI path '{OpenApiPath}' must start with '/'.", nameof(OpenApiPath));
    }
}
