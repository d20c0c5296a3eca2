using Tiered.Metadata;

namespace Tiered.Broker.Metadata;

/// <summary>
/// What a standalone Tiered starts with, as Pulsar's standalone does: the "standalone" cluster,
/// the "public" tenant and the "public/default" namespace.
/// </summary>
public static class StandaloneDefaults
{
    public const string Cluster = "standalone";

    /// <summary>Creates the keys that do not exist yet (an operator may have changed the others since); returns those it created.</summary>
    public static async Task<IReadOnlyList<string>> CreateAsync(IMetadataStore store, string serviceUrl, string brokerServiceUrl, CancellationToken cancellationToken)
    {
        (string Key, byte[] Value)[] defaults =
        [
            (MetadataPaths.Cluster(Cluster), System.Text.Encoding.UTF8.GetBytes($$"""{"serviceUrl":"{{serviceUrl}}","brokerServiceUrl":"{{brokerServiceUrl}}"}""")),
            (MetadataPaths.Tenant("public"), """{"adminRoles":[],"allowedClusters":["standalone"]}"""u8.ToArray()),
            ($"{MetadataPaths.Policies}/public/default", """{"replication_clusters":["standalone"]}"""u8.ToArray()),
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
