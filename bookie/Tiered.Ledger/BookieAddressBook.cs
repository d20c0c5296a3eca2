using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;
using Tiered.Metadata;

namespace Tiered.Ledger;

/// <summary>
/// Where each bookie is reached: bookie id → HOST:PORT, from the bookies' registrations (the value of
/// <c>/bookies/available/{id}</c> and <c>/bookies/readonly/{id}</c> is the bookie's advertised address). Ensembles
/// name bookies by id, so a bookie restarted elsewhere (another IP, port or host name) under the same id is found at
/// its new address. A bookie whose registration is gone keeps its last known address; one never seen is taken to
/// be reachable at its id (the default id is the advertised address). Kept current by a watch on <c>/bookies/</c>.
/// </summary>
internal sealed class BookieAddressBook : IAsyncDisposable
{

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly IMetadataStore _metadata;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, string> _addresses = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _watch;

    public BookieAddressBook(IMetadataStore metadata, ILogger logger)
    {
        (_metadata, _logger) = (metadata, logger);
        _watch = Task.Run(FollowAsync, CancellationToken.None);
    }

    /// <summary>The address to dial for <paramref name="bookieId"/> (HOST:PORT).</summary>
    public string AddressOf(string bookieId) => _addresses.TryGetValue(bookieId, out var address) ? address : bookieId;

    /// <summary>
    /// Completes once the registrations were read a first time (or <paramref name="timeout"/> passed: the metadata
    /// service is unreachable, and so are the ledgers' metadata, so callers fail on their own).
    /// </summary>
    public async ValueTask WaitLoadedAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_loaded.Task.IsCompleted)
            return;
        await _loaded.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Reads a registration's key and value; false for keys that are not one (/bookies/available itself, other children).</summary>
    internal static bool TryParse(string key, ReadOnlySpan<byte> value, out string bookieId, out string address)
    {
        bookieId = address = "";
        if (!key.StartsWith(BookiePaths.Root, StringComparison.Ordinal))
            return false;
        var rest = key.AsSpan(BookiePaths.Root.Length);
        var slash = rest.IndexOf('/');
        if (slash <= 0 || slash == rest.Length - 1 || rest[(slash + 1)..].Contains('/'))
            return false;
        var kind = rest[..slash];
        if (!kind.SequenceEqual("available") && !kind.SequenceEqual("readonly"))
            return false;
        bookieId = rest[(slash + 1)..].ToString();
        address = value.IsEmpty ? bookieId : Encoding.UTF8.GetString(value);
        return true;
    }

    private async Task FollowAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                var registrations = await _metadata.ListAsync(BookiePaths.Root, ReadConsistency.Linearizable, token).ConfigureAwait(false);
                long revision = 0;
                foreach (var kv in registrations)
                {
                    Learn(kv.Key, kv.Value.Span);
                    revision = Math.Max(revision, kv.ModRevision);
                }
                _loaded.TrySetResult();
                // Changes after the newest registration read; the older ones replayed are harmless.
                await foreach (var change in _metadata.WatchAsync(BookiePaths.Root, revision, token).ConfigureAwait(false))
                {
                    if (change.Type == Metadata.V1.WatchEvent.Types.Type.Put)
                        Learn(change.Kv.Key, change.Kv.Value.Span);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is MetadataException or Grpc.Core.RpcException or IOException or InvalidOperationException)
            {
                LedgerLog.AddressWatchFailed(_logger, e);
            }
            await Task.Delay(RetryDelay, token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private void Learn(string key, ReadOnlySpan<byte> value)
    {
        if (!TryParse(key, value, out var bookieId, out var address))
            return;
        if (_addresses.TryGetValue(bookieId, out var known) && known == address)
            return;
        _addresses[bookieId] = address;
        if (address != bookieId || known is not null)
            LedgerLog.BookieAddress(_logger, bookieId, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _watch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
