using System.Text.Json;
using Tiered.Broker.Ownership;
using Tiered.Metadata;

namespace Tiered.Broker.Metadata;

/// <summary>
/// What a new cluster starts with, as Pulsar's <c>initialize-cluster-metadata</c> and standalone
/// create: the cluster record, the "public" tenant allowed on it and the "public/default" namespace
/// replicated to it, cut into bundles (4 unless told otherwise). Keys that exist are left as they are (an operator may have changed them).
/// </summary>
public static class ClusterDefaults
{
    /// <summary>The cluster name of <c>tiered standalone</c>.</summary>
    public const string Standalone = "standalone";

    /// <summary>Creates the keys that do not exist yet; returns those it created.</summary>
    public static async Task<IReadOnlyList<string>> CreateAsync(IMetadataStore store, string cluster, string serviceUrl, string brokerServiceUrl, CancellationToken cancellationToken,
        int bundles = NamespaceBundles.DefaultCount)
    {
        (string Key, byte[] Value)[] defaults =
        [
            (MetadataPaths.Cluster(cluster), JsonSerializer.SerializeToUtf8Bytes(new { serviceUrl, brokerServiceUrl })),
            (MetadataPaths.Tenant("public"), JsonSerializer.SerializeToUtf8Bytes(new { adminRoles = Array.Empty<string>(), allowedClusters = new[] { cluster } })),
            ($"{MetadataPaths.Policies}/public/default", JsonSerializer.SerializeToUtf8Bytes(new
            {
                replication_clusters = new[] { cluster },
                bundles = NamespaceBundles.Even(new Naming.NamespaceName("public", "default"), bundles).ToData(),
            }, PolicyStore.Json)),
        ];
        var created = new List<string>();
        foreach (var (key, value) in defaults)
        {
            try
            {
                await store.PutAsync(key, value, expectedVersion: -1, cancellationToken: cancellationToken).ConfigureAwait(false);
                created.Add(key);
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
            {
            }
        }
        return created;
    }
}
