using Microsoft.Extensions.Logging;
using Tiered.Ledger;
using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.ManagedLedgers;

/// <summary>
/// One ledger of a managed ledger, for stats: entries and bytes so far, and whether it is offloaded
/// (to <paramref name="OffloadLocation"/>) and its bookie copy deleted.
/// </summary>
public readonly record struct LedgerSummary(long LedgerId, long Entries, long Size, long CreatedMs, bool IsOpen,
    bool Offloaded = false, bool BookieDeleted = false, string? OffloadLocation = null);

/// <summary>
/// A topic's log: an ordered list of ledgers kept in the metadata service under
/// /managed-ledgers/{name}, of which the last is open for adds. Entries are added in order and
/// confirmed in order; the current ledger rolls over by entry count, size or age; consumed
/// ledgers are trimmed by retention. Durable cursors (subscriptions) are stored under
/// /managed-ledger-cursors/{name}/{cursor}. One owner at a time: opening recovers (fences and
/// closes) the previous owner's last ledger, so a crashed owner's half-written ledger is closed
/// at its last confirmed entry.
/// </summary>
/// <remarks>
/// One short lock guards the in-memory state (ledger list, current ledger, queued adds, last
/// confirmed entry); it is never held across an await. Changes of the stored ledger list are
/// serialized by <see cref="_infoMutex"/> and written by compare-and-set with the version this
/// instance last wrote.
/// </remarks>
public sealed partial class ManagedLedger : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly LedgerClient _client;
    private readonly IMetadataStore _metadata;
    private readonly ManagedLedgerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Offloader.TieredStorage? _tieredStorage;
    private readonly string _infoKey;
    private readonly SemaphoreSlim _infoMutex = new(1, 1);
    private readonly EntryCache _cache;
    private readonly Instrumentation _instrumentation;
    private readonly LedgerCreationBackoff _creationBackoff;
    private readonly Dictionary<long, Task<LedgerReader>> _readers = [];
    private long _infoVersion = -1;
    private LedgerSlot[] _ledgers = [];
    private Position _lastConfirmed;
    private long _entriesAdded;

    /// <summary>Set once the instance stops for good: fenced by another owner, closed or deleted.</summary>
    private ManagedLedgerException? _terminal;

    /// <summary>Completed (and replaced) when an entry is confirmed and someone waits for it; failed when the instance stops.</summary>
    private readonly ConfirmationSignal _entryConfirmed = new();

    private ManagedLedger(string name, LedgerClient client, IMetadataStore metadata, ManagedLedgerOptions options, ILoggerFactory loggerFactory,
        Instrumentation instrumentation, Offloader.TieredStorage? tieredStorage, TimeProvider time)
    {
        (Name, _client, _metadata, _options, _instrumentation, _tieredStorage, _time) = (name, client, metadata, options, instrumentation, tieredStorage, time);
        _logger = loggerFactory.CreateLogger<ManagedLedger>();
        _infoKey = StoredPaths.Info(name);
        _cache = new EntryCache(options.EntryCacheBytes, options.EntryCacheMaxAge, time);
        _creationBackoff = new LedgerCreationBackoff(options.LedgerCreationBackoff, options.MaxLedgerCreationBackoff, time);
    }

    /// <summary>The managed ledger's name, e.g. "public/default/persistent/my-topic".</summary>
    public string Name { get; }

    internal IMetadataStore Metadata => _metadata;

    internal ILogger Logger => _logger;

    internal TimeProvider Time => _time;

    internal EntryCache Cache => _cache;

    /// <summary>Whether a managed ledger of this name is stored.</summary>
    public static async Task<bool> ExistsAsync(string name, IMetadataStore metadata, CancellationToken cancellationToken = default)
    {
        StoredPaths.ValidateName(name);
        return await metadata.GetAsync(StoredPaths.Info(name), cancellationToken: cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <summary>The ledgers, oldest first, the last one the open current ledger.</summary>
    public IReadOnlyList<LedgerSummary> Ledgers
    {
        get
        {
            lock (_lock)
                return [.. _ledgers.Select(s => new LedgerSummary(s.LedgerId, s.Entries, s.Size, s.CreatedMs, !s.IsClosed,
                    s.IsOffloaded, s.BookieDeleted, s.IsOffloaded ? Offloader.TieredStorage.Describe(s.Offload!.Store) : null))];
        }
    }

    /// <summary>Entries and bytes retained.</summary>
    public long NumberOfEntries
    {
        get
        {
            lock (_lock)
                return _ledgers.Sum(s => s.Entries);
        }
    }

    public long TotalSize
    {
        get
        {
            lock (_lock)
                return _ledgers.Sum(s => s.Size);
        }
    }

    /// <summary>Entries added since this instance opened.</summary>
    public long EntriesAddedCounter => Interlocked.Read(ref _entriesAdded);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// "An entry was confirmed", for readers waiting at the end of the log. Renewed on a confirmation
    /// only once someone took its task since the last one: confirmations nobody waits for (most of them
    /// under load) allocate nothing. Used under the lock only.
    /// </summary>
    private sealed class ConfirmationSignal
    {
        private TaskCompletionSource _source = NewSignal();
        private bool _observed;

        /// <summary>Completes at the next confirmation (or fails when the instance stops).</summary>
        public Task Task
        {
            get
            {
                _observed = true;
                return _source.Task;
            }
        }

        public void Confirmed()
        {
            if (!_observed)
                return;
            var signal = _source;
            (_source, _observed) = (NewSignal(), false);
            signal.TrySetResult();
        }

        public void TrySetException(Exception error) => _source.TrySetException(error);
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Throws the reason the instance stopped, if it did.</summary>
    internal void ThrowIfStopped()
    {
        lock (_lock)
        {
            if (_terminal is { } terminal)
                throw Copy(terminal);
        }
    }

    private static ManagedLedgerException Copy(ManagedLedgerException e) => e switch
    {
        ManagedLedgerFencedException => new ManagedLedgerFencedException(e.Message, e.InnerException),
        ManagedLedgerClosedException => new ManagedLedgerClosedException(e.Message),
        _ => new ManagedLedgerException(e.Message, e.InnerException),
    };

    /// <summary>
    /// Writes the ledger list changed by <paramref name="change"/> (null: nothing to change) with
    /// compare-and-set; a version conflict means another owner wrote it: the instance is fenced.
    /// </summary>
    private async Task<bool> UpdateLedgersAsync(Func<LedgerSlot[], LedgerSlot[]?> change, CancellationToken cancellationToken)
    {
        await _infoMutex.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            LedgerSlot[]? updated;
            long version;
            var info = new Stored.ManagedLedgerInfo();
            lock (_lock)
            {
                updated = change(_ledgers);
                if (updated is null)
                    return false;
                info.Ledgers.AddRange(updated.Select(s => s.ToStored()));
                version = _infoVersion;
            }
            KeyValue stored;
            try
            {
                stored = await _metadata.PutAsync(_infoKey, Google.Protobuf.MessageExtensions.ToByteArray(info), version, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
            {
                var fenced = new ManagedLedgerFencedException($"Managed ledger {Name}: its stored ledger list changed under this owner (expected version {version}); another owner took it over.", e);
                Fence(fenced);
                throw Copy(fenced);
            }
            lock (_lock)
            {
                _ledgers = updated;
                _infoVersion = stored.Version;
            }
            return true;
        }
        finally
        {
            _infoMutex.Release();
        }
    }
}
