using System.Threading.Channels;
using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Logging;

namespace Tiered.Operator;

/// <summary>
/// The operator process: elects a leader among its replicas over a Lease (KubernetesClient's
/// <see cref="LeaderElector"/>), and only the leader watches TieredClusters and reconciles them — so two
/// replicas never write the same objects. Work is a queue of cluster names, each name queued at most once:
/// a watch event, the periodic resync and an operation in progress (looked at again every
/// <see cref="OperatorOptions.ProgressInterval"/>) all just queue the name, and the reconciler reads the rest.
/// </summary>
public sealed class ClusterOperator(IKubernetes client, IClusterAdmin admin, OperatorOptions options, ILoggerFactory loggers, HttpClient? adminHttp = null)
{
    /// <summary>The kinds watched and reconciled: clusters, and the admin resources applied through their admin API.</summary>
    public static readonly string[] Plurals = [TieredCluster.Plural, TieredTenant.Plural, TieredNamespace.Plural, TieredTopic.Plural];

    private readonly ILogger _logger = loggers.CreateLogger<ClusterOperator>();
    private readonly ClusterReconciler _reconciler = new(client, admin, loggers.CreateLogger<ClusterReconciler>());
    private readonly AdminResourceReconciler _adminReconciler = new(client, adminHttp ?? new HttpClient { Timeout = TimeSpan.FromSeconds(30) }, options, loggers.CreateLogger<AdminResourceReconciler>());
    private volatile bool _leading;
    private int _reconciles;

    /// <summary>Whether this replica holds the lease now.</summary>
    public bool IsLeader => _leading;

    /// <summary>How many reconciles this replica ran (a follower runs none).</summary>
    public int Reconciles => Volatile.Read(ref _reconciles);

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled, taking the lease again whenever it is lost.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var leaseLock = new LeaseLock(client, options.LeaseNamespace, options.LeaseName, options.Identity);
        var config = new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = options.LeaseDuration,
            RenewDeadline = options.RenewDeadline,
            RetryPeriod = options.RetryPeriod,
        };
        while (!cancellationToken.IsCancellationRequested)
        {
            using var elector = new LeaderElector(config);
            using var leadership = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task? controller = null;
            elector.OnStartedLeading += () =>
            {
                _leading = true;
                _logger.StartedLeading(options.Identity, options.LeaseNamespace, options.LeaseName);
                controller = Task.Run(() => RunControllerAsync(leadership.Token), CancellationToken.None);
            };
            elector.OnStoppedLeading += () =>
            {
                _leading = false;
                _logger.StoppedLeading(options.Identity);
                leadership.Cancel();
            };
            elector.OnError += e => _logger.ElectionError(e.Message);
            try
            {
                await elector.RunUntilLeadershipLostAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping.
            }
            finally
            {
                _leading = false;
                await leadership.CancelAsync();
                if (controller is not null)
                    await controller;
            }
        }
    }

    private async Task RunControllerAsync(CancellationToken token)
    {
        var queue = Channel.CreateUnbounded<(string Plural, string Namespace, string Name)>();
        var queued = new HashSet<(string, string, string)>();
        void Enqueue(string plural, string ns, string name)
        {
            lock (queued)
            {
                if (queued.Add((plural, ns, name)))
                    queue.Writer.TryWrite((plural, ns, name));
            }
        }
        var watches = Plurals.Select(p => WatchAsync(p, Enqueue, token)).ToList();
        // The objects a cluster owns: a StatefulSet whose pods' readiness changed, or a Deployment that finished
        // (or lost) its rollout, is news for the cluster even when its TieredCluster did not change.
        const string owned = "app.kubernetes.io/managed-by=" + ClusterResources.ManagedBy;
        watches.Add(WatchOwnedAsync(t => options.WatchNamespace is { } wns
            ? client.AppsV1.WatchListNamespacedStatefulSetAsync(wns, labelSelector: owned, cancellationToken: t)
            : client.AppsV1.WatchListStatefulSetForAllNamespacesAsync(labelSelector: owned, cancellationToken: t), Enqueue, token));
        watches.Add(WatchOwnedAsync(t => options.WatchNamespace is { } wns
            ? client.AppsV1.WatchListNamespacedDeploymentAsync(wns, labelSelector: owned, cancellationToken: t)
            : client.AppsV1.WatchListDeploymentForAllNamespacesAsync(labelSelector: owned, cancellationToken: t), Enqueue, token));
        var resync = ResyncAsync(Enqueue, token);
        try
        {
            await foreach (var (plural, ns, name) in queue.Reader.ReadAllAsync(token))
            {
                lock (queued)
                    queued.Remove((plural, ns, name));
                ReconcileOutcome outcome;
                try
                {
                    Interlocked.Increment(ref _reconciles);
                    outcome = plural == TieredCluster.Plural
                        ? await _reconciler.ReconcileAsync(ns, name, token)
                        : await _adminReconciler.ReconcileAsync(plural, ns, name, token);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _logger.ReconcileFailed(ns, name, e.Message);
                    outcome = ReconcileOutcome.InProgress;
                }
                if (outcome == ReconcileOutcome.InProgress)
                    _ = RequeueLaterAsync(() => Enqueue(plural, ns, name), token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Leadership lost or stopping.
        }
        await Task.WhenAll([.. watches.Select(Quiet), Quiet(resync)]);
    }

    private async Task RequeueLaterAsync(Action enqueue, CancellationToken token)
    {
        try
        {
            await Task.Delay(options.ProgressInterval, token);
            enqueue();
        }
        catch (OperationCanceledException)
        {
            // The leader that queued it is gone; the next one lists every cluster anyway.
        }
    }

    private async Task WatchAsync(string plural, Action<string, string, string> enqueue, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                var events = options.WatchNamespace is { } ns
                    ? client.CustomObjects.WatchListNamespacedCustomObjectAsync(TieredCluster.Group, TieredCluster.Version, ns, plural, cancellationToken: token)
                    : client.CustomObjects.WatchListClusterCustomObjectAsync(TieredCluster.Group, TieredCluster.Version, plural, cancellationToken: token);
                await foreach (var (_, item) in events)
                {
                    var meta = KubernetesJson.Deserialize<MetadataOnly>(KubernetesJson.Serialize(item)).Metadata;
                    enqueue(plural, meta.NamespaceProperty, meta.Name);
                }
            }
            catch (Exception e) when (!token.IsCancellationRequested)
            {
                _logger.WatchEnded(e.Message);
                await Task.Delay(options.RetryPeriod, token);
            }
        }
    }

    private async Task WatchOwnedAsync<T>(Func<CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> watch, Action<string, string, string> enqueue, CancellationToken token)
        where T : IKubernetesObject<k8s.Models.V1ObjectMeta>
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                await foreach (var (_, item) in watch(token))
                {
                    if (item.Metadata.Labels?.TryGetValue("app.kubernetes.io/instance", out var cluster) == true)
                        enqueue(TieredCluster.Plural, item.Metadata.NamespaceProperty, cluster);
                }
            }
            catch (Exception e) when (!token.IsCancellationRequested)
            {
                _logger.WatchEnded(e.Message);
                await Task.Delay(options.RetryPeriod, token);
            }
        }
    }

    private async Task ResyncAsync(Action<string, string, string> enqueue, CancellationToken token)
    {
        using var timer = new PeriodicTimer(options.ResyncInterval);
        do
        {
            foreach (var plural in Plurals)
            {
                try
                {
                    var list = options.WatchNamespace is { } ns
                        ? await client.CustomObjects.ListNamespacedCustomObjectAsync<MetadataOnlyList>(TieredCluster.Group, TieredCluster.Version, ns, plural, cancellationToken: token)
                        : await client.CustomObjects.ListClusterCustomObjectAsync<MetadataOnlyList>(TieredCluster.Group, TieredCluster.Version, plural, cancellationToken: token);
                    foreach (var item in list.Items)
                        enqueue(plural, item.Metadata.NamespaceProperty, item.Metadata.Name);
                }
                catch (Exception e) when (!token.IsCancellationRequested)
                {
                    _logger.WatchEnded(e.Message);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(token));
    }

    private static async Task Quiet(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
            // Expected when leadership ends.
        }
    }
}
