using System.Globalization;
using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Tiered.Operator;

/// <summary>What a reconcile left behind: nothing to wait for, or an operation to look at again soon.</summary>
public enum ReconcileOutcome
{
    Done,
    InProgress,
}

/// <summary>
/// Brings one <see cref="TieredCluster"/>'s objects to what its spec says, one safe step per call: level-triggered
/// (it reads everything again each time, so a missed event or a restarted operator loses nothing), idempotent
/// (an object whose applied-hash annotation matches is not written), and careful with the running cluster: the
/// components are created and upgraded in the order metadata → bookies → brokers, a StatefulSet pod is replaced
/// only while every other pod of the component is ready, and a bookie is removed only after the admin API
/// reports it drained. A conflict (someone else wrote first) makes it read everything again and start over.
/// </summary>
public sealed class ClusterReconciler(IKubernetes client, IClusterAdmin admin, ILogger logger)
{
    public const string Finalizer = "tiered.dev/cleanup";
    private const int MaxConflictRetries = 5;

    public async Task<ReconcileOutcome> ReconcileAsync(string ns, string name, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ReconcileOnceAsync(ns, name, cancellationToken);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < MaxConflictRetries)
            {
                logger.Conflict(ns, name);
            }
        }
    }

    private async Task<ReconcileOutcome> ReconcileOnceAsync(string ns, string name, CancellationToken ct)
    {
        var cluster = await ReadOrNull(() => client.CustomObjects.GetNamespacedCustomObjectAsync<TieredCluster>(
            TieredCluster.Group, TieredCluster.Version, ns, TieredCluster.Plural, name, ct));
        if (cluster is null)
            return ReconcileOutcome.Done;
        if (cluster.Metadata.DeletionTimestamp is not null)
            return await FinalizeAsync(cluster, ct);
        if (cluster.Metadata.Finalizers?.Contains(Finalizer) != true)
        {
            cluster.Metadata.Finalizers = [.. cluster.Metadata.Finalizers ?? [], Finalizer];
            cluster = await client.CustomObjects.ReplaceNamespacedCustomObjectAsync<TieredCluster>(
                cluster, TieredCluster.Group, TieredCluster.Version, ns, TieredCluster.Plural, name, cancellationToken: ct);
        }

        var status = new TieredClusterStatus
        {
            ObservedGeneration = cluster.Metadata.Generation,
            DecommissioningBookie = null,
        };
        if (await ValidateAsync(cluster, ct) is { } problem)
        {
            logger.Invalid(ns, name, problem.Reason, problem.Message);
            status.Metadata = cluster.Status?.Metadata;
            status.Bookies = cluster.Status?.Bookies;
            status.Brokers = cluster.Status?.Brokers;
            SetConditions(status, ready: false, progressing: false, degraded: true, problem.Reason, problem.Message);
            await WriteStatusAsync(cluster, status, ct);
            return ReconcileOutcome.Done;
        }

        await ApplyConfigMapAsync(ClusterResources.ConfigMap(cluster), ct);

        // 1. Metadata nodes: everything else needs them.
        await ApplyComponentCommonAsync(cluster, Component.Metadata, ct);
        var metadataSet = await ApplyStatefulSetAsync(ClusterResources.StatefulSet(cluster, Component.Metadata, cluster.Spec.Metadata.Replicas), ct);
        var metadata = await RollAsync(cluster, Component.Metadata, metadataSet, ct);
        status.Metadata = metadata.Status;
        if (metadata.Waiting is { } metadataWaiting)
            return await ProgressAsync(cluster, status, metadataWaiting, ct);

        // 2. Bookies, one drained before any is removed.
        await ApplyComponentCommonAsync(cluster, Component.Bookie, ct);
        var bookieName = ClusterResources.Name(cluster, Component.Bookie);
        var existingBookies = await ReadOrNull(() => client.AppsV1.ReadNamespacedStatefulSetAsync(bookieName, ns, cancellationToken: ct));
        var bookieReplicas = cluster.Spec.Bookies.Replicas;
        (string Reason, string Message)? draining = null;
        int? removedOrdinal = null;
        if (existingBookies?.Spec.Replicas is { } current && current > bookieReplicas)
        {
            var ordinal = current - 1;
            var bookieId = ClusterResources.BookieId(cluster, ordinal);
            var progress = await admin.GetDecommissionAsync(cluster, bookieId, ct);
            if (progress is null)
            {
                if (await admin.StartDecommissionAsync(cluster, bookieId, ct) is { } refusal)
                {
                    // Nothing is removed: the cluster said the drain would leave too few copies.
                    var message = $"Bookie {bookieId} cannot be decommissioned, so the bookies stay at {current}: {refusal}";
                    logger.Invalid(ns, name, "DecommissionRefused", message);
                    status.Bookies = cluster.Status?.Bookies;
                    status.Brokers = cluster.Status?.Brokers;
                    SetConditions(status, ready: false, progressing: false, degraded: true, "DecommissionRefused", message);
                    await WriteStatusAsync(cluster, status, ct);
                    return ReconcileOutcome.Done;
                }
                logger.Acted(ns, name, $"decommissioning bookie {bookieId} before scaling the bookies down to {current - 1}");
            }
            if (progress?.IsDone == true)
            {
                bookieReplicas = current - 1;
                removedOrdinal = ordinal;
                logger.Acted(ns, name, $"bookie {bookieId} is drained; removing its pod and volumes");
            }
            else
            {
                bookieReplicas = current;
                status.DecommissioningBookie = bookieId;
                draining = ("DecommissioningBookie", progress is null
                    ? $"Bookie {bookieId} is being made read-only; its ledgers will be re-replicated before it is removed."
                    : $"Bookie {bookieId}: state {progress.State}, {progress.LedgersRemaining} ledgers remaining, {progress.UnderReplicatedLedgers} under-replicated.");
            }
        }
        var bookieSet = await ApplyStatefulSetAsync(ClusterResources.StatefulSet(cluster, Component.Bookie, bookieReplicas), ct);
        if (removedOrdinal is { } removed)
        {
            // The StatefulSet controller keeps claims when it scales down; the data was re-replicated, so free them.
            foreach (var claim in ClusterResources.BookieClaims(cluster, removed))
                await DeleteOrIgnore(() => client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(claim, ns, cancellationToken: ct));
        }
        var bookies = await RollAsync(cluster, Component.Bookie, bookieSet, ct);
        status.Bookies = bookies.Status;
        if (draining is { } d)
            return await ProgressAsync(cluster, status, d, ct);
        if (bookies.Waiting is { } bookiesWaiting)
            return await ProgressAsync(cluster, status, bookiesWaiting, ct);

        // 3. Brokers: a Deployment, rolled one pod at a time by Kubernetes (maxSurge 1, maxUnavailable 0).
        await ApplyComponentCommonAsync(cluster, Component.Broker, ct);
        var deployment = await ApplyAsync(ClusterResources.Deployment(cluster),
            () => client.AppsV1.ReadNamespacedDeploymentAsync(ClusterResources.Name(cluster, Component.Broker), ns, cancellationToken: ct),
            o => client.AppsV1.CreateNamespacedDeploymentAsync(o, ns, cancellationToken: ct),
            o => client.AppsV1.ReplaceNamespacedDeploymentAsync(o, o.Metadata.Name, ns, cancellationToken: ct));
        var want = deployment.Spec.Replicas ?? 1;
        var ds = deployment.Status;
        status.Brokers = new ComponentStatus
        {
            Replicas = want,
            ReadyReplicas = ds?.ReadyReplicas ?? 0,
            UpdatedReplicas = ds?.UpdatedReplicas ?? 0,
            Image = ClusterResources.ImageOf(cluster, Component.Broker),
        };
        var brokersDone = ds is not null && ds.ObservedGeneration >= deployment.Metadata.Generation
            && ds.UpdatedReplicas == want && ds.AvailableReplicas == want && ds.ReadyReplicas == want && (ds.Replicas ?? want) == want;
        if (!brokersDone)
            return await ProgressAsync(cluster, status, ("RollingOutBrokers", $"Brokers: {ds?.UpdatedReplicas ?? 0}/{want} updated, {ds?.AvailableReplicas ?? 0}/{want} available."), ct);

        // The geo-replication peers, registered through the brokers now that they answer.
        foreach (var peer in cluster.Spec.GeoReplication?.Peers ?? [])
            await admin.RegisterPeerAsync(cluster, peer, ct);

        SetConditions(status, ready: true, progressing: false, degraded: false, "ClusterReady",
            $"{cluster.Spec.Metadata.Replicas} metadata nodes, {cluster.Spec.Bookies.Replicas} bookies and {want} brokers are ready.");
        await WriteStatusAsync(cluster, status, ct);
        return ReconcileOutcome.Done;
    }

    private async Task<ReconcileOutcome> ProgressAsync(TieredCluster cluster, TieredClusterStatus status, (string Reason, string Message) step, CancellationToken ct)
    {
        SetConditions(status, ready: false, progressing: true, degraded: false, step.Reason, step.Message);
        await WriteStatusAsync(cluster, status, ct);
        return ReconcileOutcome.InProgress;
    }

    /// <summary>
    /// Replaces the pods of a StatefulSet whose template changed, highest ordinal first, one at a time: a pod is
    /// deleted (the StatefulSet controller recreates it from the new template) only while all of the
    /// component's pods exist and are ready — for metadata nodes that means the Raft quorum is whole.
    /// </summary>
    private async Task<(ComponentStatus Status, (string Reason, string Message)? Waiting)> RollAsync(
        TieredCluster cluster, Component component, V1StatefulSet set, CancellationToken ct)
    {
        var ns = set.Metadata.NamespaceProperty;
        var replicas = set.Spec.Replicas ?? 1;
        var wanted = set.Spec.Template.Metadata.Annotations[ClusterResources.TemplateHashAnnotation];
        var pods = (await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: ClusterResources.Selector(cluster, component), cancellationToken: ct)).Items
            .Where(p => Ordinal(p.Metadata.Name, set.Metadata.Name) is { } i && i < replicas && p.Metadata.DeletionTimestamp is null)
            .ToList();
        var ready = pods.Count(IsReady);
        var updated = pods.Count(p => p.Metadata.Annotations?.TryGetValue(ClusterResources.TemplateHashAnnotation, out var h) == true && h == wanted);
        var status = new ComponentStatus { Replicas = replicas, ReadyReplicas = ready, UpdatedReplicas = updated, Image = ClusterResources.ImageOf(cluster, component) };
        var what = ClusterResources.ComponentName(component);
        if (pods.Count < replicas || ready < pods.Count)
            return (status, ($"WaitingFor{Title(what)}Pods", $"{Title(what)} pods: {ready}/{replicas} ready, {updated}/{replicas} updated."));
        if (updated == replicas)
            return (status, null);
        var next = pods.Where(p => (p.Metadata.Annotations is { } a && a.TryGetValue(ClusterResources.TemplateHashAnnotation, out var h) ? h : null) != wanted)
            .OrderByDescending(p => Ordinal(p.Metadata.Name, set.Metadata.Name)).First();
        await DeleteOrIgnore(() => client.CoreV1.DeleteNamespacedPodAsync(next.Metadata.Name, ns, cancellationToken: ct));
        logger.Acted(ns, cluster.Metadata.Name, $"rolling update: restarted pod {next.Metadata.Name} ({updated}/{replicas} {what} pods updated)");
        return (status, ($"RollingUpdate{Title(what)}", $"Restarting {next.Metadata.Name} ({updated}/{replicas} {what} pods updated); one pod at a time, each waits for the previous to be ready."));
    }

    private static string Title(string s) => char.ToUpperInvariant(s[0]) + s[1..];

    private static bool IsReady(V1Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private static int? Ordinal(string podName, string setName) =>
        podName.StartsWith(setName + "-", StringComparison.Ordinal) && int.TryParse(podName.AsSpan(setName.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;

    /// <summary>Refuses what would break or endanger a running cluster; a refused spec changes no object.</summary>
    private async Task<(string Reason, string Message)?> ValidateAsync(TieredCluster c, CancellationToken ct)
    {
        var s = c.Spec;
        var ns = c.Metadata.NamespaceProperty;
        if (s.Metadata.Replicas is < 1 or > 7 || s.Metadata.Replicas % 2 == 0)
            return ("InvalidMetadataReplicas", $"spec.metadata.replicas is {s.Metadata.Replicas}: the metadata service is a Raft group and needs an odd number of nodes (1, 3, 5 or 7).");
        var l = s.Ledger;
        if (l.AckQuorum < 1 || l.AckQuorum > l.WriteQuorum || l.WriteQuorum > l.EnsembleSize)
            return ("InvalidQuorum", $"spec.ledger must satisfy 1 <= ackQuorum <= writeQuorum <= ensembleSize; it has ensembleSize {l.EnsembleSize}, writeQuorum {l.WriteQuorum}, ackQuorum {l.AckQuorum}.");
        if (s.Bookies.Replicas < l.EnsembleSize)
            return ("NotEnoughBookies", $"spec.bookies.replicas is {s.Bookies.Replicas}, fewer than spec.ledger.ensembleSize {l.EnsembleSize}: new ledgers could not be created. Raise the bookies or lower the ensemble size.");
        if (s.Brokers.Replicas < 1)
            return ("InvalidBrokerReplicas", "spec.brokers.replicas must be at least 1.");
        var metadataSet = await ReadOrNull(() => client.AppsV1.ReadNamespacedStatefulSetAsync(ClusterResources.Name(c, Component.Metadata), ns, cancellationToken: ct));
        if (metadataSet?.Spec.Replicas is { } running && running != s.Metadata.Replicas)
            return ("MetadataResizeUnsupported", $"spec.metadata.replicas changed from {running} to {s.Metadata.Replicas}: the metadata service's membership is fixed when it is created. Set it back to {running}.");
        if (s.Offload is { } offload && await ReadOrNull(() => client.CoreV1.ReadNamespacedSecretAsync(offload.SecretName, ns, cancellationToken: ct)) is null)
            return ("SecretNotFound", $"spec.offload.secretName: Secret {ns}/{offload.SecretName} does not exist. Create it with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.");
        if (s.Authentication is { } auth)
        {
            var secret = await ReadOrNull(() => client.CoreV1.ReadNamespacedSecretAsync(auth.SecretName, ns, cancellationToken: ct));
            if (secret is null)
                return ("SecretNotFound", $"spec.authentication.secretName: Secret {ns}/{auth.SecretName} does not exist. Create it with the token key under '{auth.SecretKey}' (tiered tokens create-secret-key).");
            if (secret.Data?.ContainsKey(auth.SecretKey) != true && secret.StringData?.ContainsKey(auth.SecretKey) != true)
                return ("SecretKeyMissing", $"Secret {ns}/{auth.SecretName} has no key '{auth.SecretKey}' (spec.authentication.secretKey).");
        }
        return null;
    }

    private async Task<ReconcileOutcome> FinalizeAsync(TieredCluster cluster, CancellationToken ct)
    {
        var ns = cluster.Metadata.NamespaceProperty;
        if (cluster.Metadata.Finalizers?.Contains(Finalizer) != true)
            return ReconcileOutcome.Done;
        // Brokers first (they write to bookies), metadata last (everyone needs it while stopping).
        await DeleteOrIgnore(() => client.AppsV1.DeleteNamespacedDeploymentAsync(ClusterResources.Name(cluster, Component.Broker), ns, cancellationToken: ct));
        await DeleteOrIgnore(() => client.AppsV1.DeleteNamespacedStatefulSetAsync(ClusterResources.Name(cluster, Component.Bookie), ns, cancellationToken: ct));
        await DeleteOrIgnore(() => client.AppsV1.DeleteNamespacedStatefulSetAsync(ClusterResources.Name(cluster, Component.Metadata), ns, cancellationToken: ct));
        foreach (var component in Enum.GetValues<Component>())
        {
            await DeleteOrIgnore(() => client.CoreV1.DeleteNamespacedServiceAsync(ClusterResources.Name(cluster, component), ns, cancellationToken: ct));
            await DeleteOrIgnore(() => client.PolicyV1.DeleteNamespacedPodDisruptionBudgetAsync(ClusterResources.Name(cluster, component), ns, cancellationToken: ct));
        }
        await DeleteOrIgnore(() => client.CoreV1.DeleteNamespacedConfigMapAsync(ClusterResources.ConfigMapName(cluster), ns, cancellationToken: ct));
        if (cluster.Spec.StorageReclaimPolicy == "Delete")
        {
            var claims = await client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(ns, labelSelector: $"app.kubernetes.io/instance={cluster.Metadata.Name}", cancellationToken: ct);
            foreach (var claim in claims.Items)
                await DeleteOrIgnore(() => client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(claim.Metadata.Name, ns, cancellationToken: ct));
        }
        cluster.Metadata.Finalizers = [.. cluster.Metadata.Finalizers.Where(f => f != Finalizer)];
        await client.CustomObjects.ReplaceNamespacedCustomObjectAsync<TieredCluster>(
            cluster, TieredCluster.Group, TieredCluster.Version, ns, TieredCluster.Plural, cluster.Metadata.Name, cancellationToken: ct);
        logger.Acted(ns, cluster.Metadata.Name, "deleted; its objects were removed" + (cluster.Spec.StorageReclaimPolicy == "Delete" ? " with its volumes" : ", its volumes kept"));
        return ReconcileOutcome.Done;
    }

    private Task ApplyComponentCommonAsync(TieredCluster c, Component component, CancellationToken ct)
    {
        var ns = c.Metadata.NamespaceProperty;
        var name = ClusterResources.Name(c, component);
        return Task.WhenAll(
            ApplyAsync(ClusterResources.Service(c, component),
                () => client.CoreV1.ReadNamespacedServiceAsync(name, ns, cancellationToken: ct),
                o => client.CoreV1.CreateNamespacedServiceAsync(o, ns, cancellationToken: ct),
                o => client.CoreV1.ReplaceNamespacedServiceAsync(o, name, ns, cancellationToken: ct),
                (desired, existing) =>
                {
                    // The cluster IP is allocated once and cannot change.
                    desired.Spec.ClusterIP = existing.Spec.ClusterIP;
                    desired.Spec.ClusterIPs = existing.Spec.ClusterIPs;
                }),
            ApplyAsync(ClusterResources.DisruptionBudget(c, component),
                () => client.PolicyV1.ReadNamespacedPodDisruptionBudgetAsync(name, ns, cancellationToken: ct),
                o => client.PolicyV1.CreateNamespacedPodDisruptionBudgetAsync(o, ns, cancellationToken: ct),
                o => client.PolicyV1.ReplaceNamespacedPodDisruptionBudgetAsync(o, name, ns, cancellationToken: ct)));
    }

    private Task<V1ConfigMap> ApplyConfigMapAsync(V1ConfigMap map, CancellationToken ct)
    {
        var ns = map.Metadata.NamespaceProperty;
        return ApplyAsync(map,
            () => client.CoreV1.ReadNamespacedConfigMapAsync(map.Metadata.Name, ns, cancellationToken: ct),
            o => client.CoreV1.CreateNamespacedConfigMapAsync(o, ns, cancellationToken: ct),
            o => client.CoreV1.ReplaceNamespacedConfigMapAsync(o, o.Metadata.Name, ns, cancellationToken: ct));
    }

    private Task<V1StatefulSet> ApplyStatefulSetAsync(V1StatefulSet set, CancellationToken ct)
    {
        var ns = set.Metadata.NamespaceProperty;
        return ApplyAsync(set,
            () => client.AppsV1.ReadNamespacedStatefulSetAsync(set.Metadata.Name, ns, cancellationToken: ct),
            o => client.AppsV1.CreateNamespacedStatefulSetAsync(o, ns, cancellationToken: ct),
            o => client.AppsV1.ReplaceNamespacedStatefulSetAsync(o, o.Metadata.Name, ns, cancellationToken: ct),
            // Volume claim templates cannot change once the StatefulSet exists (a new size applies to new clusters only).
            (desired, existing) => desired.Spec.VolumeClaimTemplates = existing.Spec.VolumeClaimTemplates);
    }

    /// <summary>Creates the object, or replaces it when its applied-hash differs from the wanted one; otherwise writes nothing.</summary>
    private static async Task<T> ApplyAsync<T>(T desired, Func<Task<T>> read, Func<T, Task<T>> create, Func<T, Task<T>> replace, Action<T, T>? keep = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var existing = await ReadOrNull(read);
        if (existing is null)
            return await create(desired);
        var wantedHash = desired.Metadata.Annotations[ClusterResources.AppliedHashAnnotation];
        if ((existing.Metadata.Annotations is { } a && a.TryGetValue(ClusterResources.AppliedHashAnnotation, out var h) ? h : null) == wantedHash)
            return existing;
        desired.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
        keep?.Invoke(desired, existing);
        return await replace(desired);
    }

    private async Task WriteStatusAsync(TieredCluster cluster, TieredClusterStatus status, CancellationToken ct)
    {
        // A status equal to the stored one is not written.
        ClusterCondition.CarryTransitionTimes(status.Conditions, cluster.Status?.Conditions);
        if (cluster.Status is not null && KubernetesJson.Serialize(cluster.Status) == KubernetesJson.Serialize(status))
            return;
        cluster.Status = status;
        await client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync<TieredCluster>(
            cluster, TieredCluster.Group, TieredCluster.Version, cluster.Metadata.NamespaceProperty, TieredCluster.Plural, cluster.Metadata.Name, cancellationToken: ct);
    }

    private static void SetConditions(TieredClusterStatus status, bool ready, bool progressing, bool degraded, string reason, string message)
    {
        static string S(bool b) => b ? "True" : "False";
        var generation = status.ObservedGeneration;
        status.Conditions =
        [
            new ClusterCondition { Type = "Ready", Status = S(ready), Reason = reason, Message = message, ObservedGeneration = generation },
            new ClusterCondition { Type = "Progressing", Status = S(progressing), Reason = progressing ? reason : "Idle", Message = progressing ? message : null, ObservedGeneration = generation },
            new ClusterCondition { Type = "Degraded", Status = S(degraded), Reason = degraded ? reason : "AsExpected", Message = degraded ? message : null, ObservedGeneration = generation },
        ];
    }

    private static async Task<T?> ReadOrNull<T>(Func<Task<T>> read) where T : class
    {
        try
        {
            return await read();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static async Task DeleteOrIgnore<T>(Func<Task<T>> delete)
    {
        try
        {
            await delete();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone: what deleting wanted.
        }
        catch (JsonException)
        {
            // Some deletes answer with the object rather than a Status; the delete was accepted all the same.
        }
    }
}
