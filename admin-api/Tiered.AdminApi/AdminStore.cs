using Google.Protobuf;
using Tiered.Broker;
using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.AdminApi;

/// <summary>A value read from the metadata service with the version to compare-and-set against.</summary>
internal readonly record struct Versioned<T>(T Value, KeyValue Stored)
{
    public long Version => Stored.Version;
}

/// <summary>
/// The admin objects in the metadata service: typed reads, and writes that are applied only when
/// nothing they were decided on has changed meanwhile (compare-and-set, retried a few times).
/// </summary>
internal sealed class AdminStore(IMetadataStore metadata)
{
    /// <summary>How often a change decided on a stale read is tried again before answering 412.</summary>
    public const int MaxAttempts = 5;

    public IMetadataStore Metadata => metadata;

    public async Task<Versioned<T>?> GetAsync<T>(string key, CancellationToken cancellationToken)
    {
        var kv = await metadata.GetAsync(key, ReadConsistency.Linearizable, cancellationToken).ConfigureAwait(false);
        return kv is null ? null : new Versioned<T>(AdminJson.Deserialize<T>(kv), kv);
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken)
        => await metadata.GetAsync(key, ReadConsistency.Linearizable, cancellationToken).ConfigureAwait(false) is not null;

    public async Task<IReadOnlyList<string>> ChildrenAsync(string path, CancellationToken cancellationToken)
        => await metadata.ListChildrenAsync(path, ReadConsistency.Linearizable, cancellationToken).ConfigureAwait(false);

    /// <summary>Every direct child of <paramref name="parent"/> with its value.</summary>
    public async Task<IReadOnlyList<(string Name, Versioned<T> Value)>> ChildValuesAsync<T>(string parent, CancellationToken cancellationToken)
    {
        var prefix = parent + "/";
        var kvs = await metadata.ListAsync(prefix, ReadConsistency.Linearizable, cancellationToken).ConfigureAwait(false);
        return [.. kvs
            .Where(kv => kv.Key.IndexOf('/', prefix.Length) < 0)
            .Select(kv => (kv.Key[prefix.Length..], new Versioned<T>(AdminJson.Deserialize<T>(kv), kv)))];
    }

    /// <summary>
    /// Runs <paramref name="attempt"/> (read, decide, write with expected versions) until its write
    /// is applied; a version conflict means something changed between its read and its write, so it
    /// reads again and decides anew. Refusals (<see cref="BrokerException"/>) end it at once.
    /// </summary>
    public static async Task<TResult> RetryOnConflictAsync<TResult>(string what, Func<CancellationToken, Task<TResult>> attempt, CancellationToken cancellationToken)
    {
        for (var i = 1; ; i++)
        {
            try
            {
                return await attempt(cancellationToken).ConfigureAwait(false);
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
            {
                if (i >= MaxAttempts)
                    throw new BrokerException(BrokerErrorCode.VersionConflict, $"{what} was changed concurrently {MaxAttempts} times in a row; try again.", e);
            }
        }
    }

    public static Task RetryOnConflictAsync(string what, Func<CancellationToken, Task> attempt, CancellationToken cancellationToken)
        => RetryOnConflictAsync(what, async ct =>
        {
            await attempt(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>Reads, changes and writes back a value with compare-and-set, retrying on conflicts.</summary>
    public Task<T> UpdateAsync<T>(string key, string what, Func<BrokerException> notFound, Func<T, T> change, CancellationToken cancellationToken)
        => RetryOnConflictAsync(what, async ct =>
        {
            var current = await GetAsync<T>(key, ct).ConfigureAwait(false) ?? throw notFound();
            var changed = change(current.Value);
            await metadata.PutAsync(key, AdminJson.Serialize(changed), current.Version, cancellationToken: ct).ConfigureAwait(false);
            return changed;
        }, cancellationToken);

    public Task<TxnResponse> TxnAsync(IEnumerable<TxnOp> ops, CancellationToken cancellationToken)
    {
        var request = new TxnRequest();
        request.Ops.AddRange(ops);
        return metadata.TxnAsync(request, cancellationToken).AsTask();
    }

    public static TxnOp Put<T>(string key, T value, long expectedVersion)
        => new() { Put = new PutRequest { Key = key, Value = ByteString.CopyFrom(AdminJson.Serialize(value)), ExpectedVersion = expectedVersion } };

    public static TxnOp Delete(string key, long expectedVersion)
        => new() { Delete = new DeleteRequest { Key = key, ExpectedVersion = expectedVersion } };

    /// <summary>
    /// Rewrites a value unchanged, at its expected version: bumps its version so that any change
    /// decided on the old version (deleting a cluster a new tenant names, a tenant a new namespace
    /// belongs to) fails its compare-and-set instead of racing past this one.
    /// </summary>
    public static TxnOp Touch(KeyValue stored)
        => new() { Put = new PutRequest { Key = stored.Key, Value = stored.Value, ExpectedVersion = stored.Version } };
}
