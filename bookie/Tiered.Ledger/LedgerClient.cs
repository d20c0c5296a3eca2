using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tiered.Bookie.V1;
using Tiered.Metadata;

namespace Tiered.Ledger;

/// <summary>
/// What brokers use to store data on bookies: creates ledgers on an ensemble of available
/// bookies, opens them for reading, deletes them. Holds one gRPC channel per bookie for all its
/// writers and readers; disposing it stops its writers (their ledgers stay open for recovery).
/// </summary>
public sealed partial class LedgerClient : IAsyncDisposable
{
    /// <summary>Where bookies register while they accept adds (ephemeral keys named by bookie id).</summary>

    private readonly IMetadataStore _metadata;
    private readonly LedgerMetadataStore _ledgers;
    private readonly LedgerClientOptions _options;
    private readonly BookieAddressBook _addresses;
    private readonly BookieClientPool _pool;
    private readonly BookieQuarantine _quarantine;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly List<LedgerWriter> _writers = [];
    private readonly bool _ownsInstrumentation;
    private bool _disposed;

    /// <param name="instrumentation">Where adds, ensemble changes and quarantined bookies are counted; null: an instance of its own.</param>
    public LedgerClient(IMetadataStore metadata, LedgerClientOptions? options = null, Instrumentation? instrumentation = null)
    {
        _ownsInstrumentation = instrumentation is null;
        Instrumentation = instrumentation ?? new Instrumentation(meterFactory: null);
        _options = options ?? new LedgerClientOptions();
        _options.Validate();
        _metadata = metadata;
        _ledgers = new LedgerMetadataStore(metadata);
        _addresses = new BookieAddressBook(metadata, _options.LoggerFactory.CreateLogger<BookieAddressBook>());
        _pool = new BookieClientPool(_options, _addresses);
        _quarantine = new BookieQuarantine(_options.BookieQuarantineTime, _options.TimeProvider);
        _logger = _options.LoggerFactory.CreateLogger<LedgerClient>();
        Instrumentation.Track(_quarantine);
    }

    public Instrumentation Instrumentation { get; }

    /// <summary>
    /// Creates an OPEN ledger on <paramref name="ensembleSize"/> available bookies (spread over hosts,
    /// avoiding bookies that failed one of this client's writers recently) and returns its writer.
    /// </summary>
    /// <exception cref="ArgumentException">The quorums do not satisfy E ≥ Qw ≥ Qa ≥ 1.</exception>
    /// <exception cref="InsufficientBookiesException">Fewer than E bookies are available.</exception>
    public async Task<LedgerWriter> CreateLedgerAsync(int ensembleSize, int writeQuorum, int ackQuorum, IReadOnlyDictionary<string, string>? custom = null, CancellationToken cancellationToken = default)
    {
        var schedule = new DistributionSchedule(ensembleSize, writeQuorum, ackQuorum);
        await AddressesLoadedAsync(cancellationToken).ConfigureAwait(false);
        var available = await _metadata.ListChildrenAsync(BookiePaths.Available, cancellationToken: cancellationToken).ConfigureAwait(false);
        var ensemble = _quarantine.Choose([.. available], ensembleSize);
        var created = await _ledgers.CreateAsync(schedule, ensemble, custom, cancellationToken).ConfigureAwait(false);
        LedgerLog.Created(_logger, created.LedgerId, string.Join(',', ensemble), ensembleSize, writeQuorum, ackQuorum);
        var writer = new LedgerWriter(created, _ledgers, _pool, _options, _logger, _quarantine, Instrumentation);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _writers.Add(writer);
        }
        return writer;
    }

    /// <summary>
    /// Opens a ledger read-only, without recovery: readable up to its last entry when CLOSED, else
    /// up to the highest LAC the bookies of its last segment report (the writer may still be adding).
    /// </summary>
    /// <exception cref="LedgerNotFoundException">No such ledger.</exception>
    /// <exception cref="LedgerException">The ledger is open and none of its bookies answered.</exception>
    public Task<LedgerReader> OpenLedgerAsync(long ledgerId, CancellationToken cancellationToken = default)
        => OpenLedgerAsync(ledgerId, recovery: false, cancellationToken);

    /// <summary>
    /// Opens a ledger read-only. Without <paramref name="recovery"/> as the one-argument overload.
    /// With it, a ledger that is not CLOSED yet is recovered first: marked IN_RECOVERY, its last
    /// segment fenced (its writer's next add fails), every entry that may have been confirmed
    /// found and written back to an ack quorum, and then the ledger is CLOSED at its last entry;
    /// the reader returned reads the closed ledger.
    /// </summary>
    /// <exception cref="LedgerNotFoundException">No such ledger.</exception>
    /// <exception cref="LedgerException">Recovery could not decide or store the ledger's end (too many bookies unreachable); the ledger stays IN_RECOVERY and recovery can be retried.</exception>
    public async Task<LedgerReader> OpenLedgerAsync(long ledgerId, bool recovery, CancellationToken cancellationToken = default)
    {
        await AddressesLoadedAsync(cancellationToken).ConfigureAwait(false);
        if (recovery)
            return await RecoverAsync(ledgerId, cancellationToken).ConfigureAwait(false);
        var metadata = await _ledgers.GetAsync(ledgerId, cancellationToken).ConfigureAwait(false) ?? throw new LedgerNotFoundException(ledgerId);
        var lac = metadata.Metadata.State == LedgerMetadata.Types.State.Closed
            ? metadata.Metadata.LastEntryId
            : await ReadLacAsync(metadata, cancellationToken).ConfigureAwait(false);
        return new LedgerReader(metadata, lac, _pool, _options, _logger);
    }

    private async Task<long> ReadLacAsync(VersionedLedgerMetadata metadata, CancellationToken cancellationToken)
    {
        var bookies = metadata.Metadata.Segments.MaxBy(s => s.FirstEntryId)!.Bookies;
        var answers = await Task.WhenAll(bookies.Select(async bookieId =>
        {
            try
            {
                var response = await _pool.Get(bookieId).ReadLacAsync(new ReadLacRequest { LedgerId = metadata.LedgerId, PreviousLac = -2 },
                    deadline: DateTime.UtcNow + _options.ReadTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
                return response.Code switch
                {
                    Code.Ok => (long?)response.LastAddConfirmed,
                    Code.NoSuchLedger => -1,
                    _ => null,
                };
            }
            catch (RpcException) when (!cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        })).ConfigureAwait(false);
        if (answers.All(a => a is null))
            throw new LedgerException($"Ledger {metadata.LedgerId} is open and none of its bookies ({string.Join(", ", bookies)}) answered for its last add confirmed.");
        return answers.Max(a => a ?? -1);
    }

    /// <summary>Deletes a ledger's entries on every bookie that holds any (best effort), then its metadata. False if there was no such ledger.</summary>
    public async Task<bool> DeleteLedgerAsync(long ledgerId, CancellationToken cancellationToken = default)
    {
        var metadata = await _ledgers.GetAsync(ledgerId, cancellationToken).ConfigureAwait(false);
        if (metadata is null)
            return false;
        await AddressesLoadedAsync(cancellationToken).ConfigureAwait(false);
        var bookies = metadata.Metadata.Segments.SelectMany(s => s.Bookies).Distinct(StringComparer.Ordinal);
        await Task.WhenAll(bookies.Select(async bookieId =>
        {
            try
            {
                await _pool.Get(bookieId).DeleteLedgerAsync(new DeleteLedgerRequest { LedgerId = ledgerId },
                    deadline: DateTime.UtcNow + _options.ReadTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                LedgerLog.DeleteOnBookieFailed(_logger, ledgerId, bookieId, e);
            }
        })).ConfigureAwait(false);
        return await _ledgers.DeleteAsync(ledgerId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops every writer this client created (without closing their ledgers) and drops the bookie connections.</summary>
    public async ValueTask DisposeAsync()
    {
        LedgerWriter[] writers;
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            writers = [.. _writers];
            _writers.Clear();
        }
        foreach (var writer in writers)
            await writer.DisposeAsync().ConfigureAwait(false);
        _pool.Dispose();
        await _addresses.DisposeAsync().ConfigureAwait(false);
        Instrumentation.Untrack(_quarantine);
        if (_ownsInstrumentation)
            Instrumentation.Dispose();
    }

    /// <summary>Waits (briefly) until the bookies' addresses are known, before calling bookies by id.</summary>
    private ValueTask AddressesLoadedAsync(CancellationToken cancellationToken) => _addresses.WaitLoadedAsync(_options.ConnectTimeout, cancellationToken);
}
