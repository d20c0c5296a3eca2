using System.Text.Json;
using Tiered.Broker.Admin;
using Tiered.Broker.Naming;
using Tiered.Metadata;

namespace Tiered.Broker.Metadata;

/// <summary>Reads namespace policies and partitioned-topic metadata (JSON) from the metadata service.</summary>
public sealed class PolicyStore(IMetadataStore metadata)
{
    /// <summary>camelCase, as Pulsar's admin JSON.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public IMetadataStore Metadata { get; } = metadata;

    /// <summary>The namespace's policies; null when the namespace does not exist.</summary>
    public async Task<NamespacePolicies?> GetNamespaceAsync(NamespaceName ns, CancellationToken cancellationToken)
    {
        var stored = await Metadata.GetAsync(MetadataPaths.Namespace(ns), cancellationToken: cancellationToken).ConfigureAwait(false);
        return stored is null ? null : Deserialize<NamespacePolicies>(stored.Value.Span) ?? new NamespacePolicies();
    }

    /// <summary>The namespace's policies; <see cref="BrokerException"/> NamespaceNotFound when it does not exist.</summary>
    public async Task<NamespacePolicies> RequireNamespaceAsync(NamespaceName ns, CancellationToken cancellationToken)
        => await GetNamespaceAsync(ns, cancellationToken).ConfigureAwait(false)
           ?? throw new BrokerException(BrokerErrorCode.NamespaceNotFound, $"Namespace {ns} does not exist; create it with PUT /admin/v2/namespaces/{ns}.");

    /// <summary>The partitions of a partitioned topic; 0 when <paramref name="topic"/> is not partitioned.</summary>
    public async Task<int> GetPartitionsAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var stored = await Metadata.GetAsync(MetadataPaths.PartitionedTopic(topic), cancellationToken: cancellationToken).ConfigureAwait(false);
        return stored is null ? 0 : Deserialize<PartitionedTopicMetadata>(stored.Value.Span)?.Partitions ?? 0;
    }

    /// <summary>Stores a partitioned topic's metadata; false when it exists already.</summary>
    public async Task<bool> TryCreatePartitionedAsync(TopicName topic, int partitions, CancellationToken cancellationToken)
    {
        try
        {
            await Metadata.PutAsync(MetadataPaths.PartitionedTopic(topic), JsonSerializer.SerializeToUtf8Bytes(new PartitionedTopicMetadata(partitions), Json),
                expectedVersion: -1, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
        {
            return false;
        }
    }

    private static T? Deserialize<T>(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Json);
        }
        catch (JsonException e)
        {
            throw new BrokerException(BrokerErrorCode.Unavailable, $"Stored {typeof(T).Name} is not valid JSON: {e.Message}", e);
        }
    }
}
