using System.Runtime.CompilerServices;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tiered.Bookie.V1;

namespace Tiered.Ledger;

/// <summary>
/// Reads a ledger up to the last entry known to be confirmed: a closed ledger's last entry, or
/// an open ledger's LAC as its bookies reported it when opened. Each entry is read from the
/// replicas of its write set in order; a replica that is down, lacks the entry or returns it
/// with a wrong digest is skipped for the next. Ranges are read as streams where one replica
/// holds every entry of the range (<see cref="ReadAsync"/>).
/// </summary>
public sealed class LedgerReader
{
    private readonly Segment[] _segments;
    private readonly DistributionSchedule _schedule;
    private readonly BookieClientPool _pool;
    private readonly LedgerClientOptions _options;
    private readonly ILogger _logger;

    internal LedgerReader(VersionedLedgerMetadata metadata, long lastAddConfirmed, BookieClientPool pool, LedgerClientOptions options, ILogger logger)
    {
        (LedgerId, Metadata, LastAddConfirmed, _pool, _options, _logger) = (metadata.LedgerId, metadata.Metadata, lastAddConfirmed, pool, options, logger);
        _schedule = new DistributionSchedule(Metadata.EnsembleSize, Metadata.WriteQuorum, Metadata.AckQuorum);
        _segments = [.. Metadata.Segments.OrderBy(s => s.FirstEntryId)];
    }

    public long LedgerId { get; }

    /// <summary>The last entry this reader may read (-1: none).</summary>
    public long LastAddConfirmed { get; }

    /// <summary>Whether the ledger was closed when opened; then <see cref="LastAddConfirmed"/> is its final last entry.</summary>
    public bool IsClosed => Metadata.State == LedgerMetadata.Types.State.Closed;

    public LedgerMetadata Metadata { get; }

    /// <summary>
    /// Test seam: sees every response a bookie returned (bookie id, response) before the digest
    /// check and may replace it, e.g. to simulate corruption at rest on one replica.
    /// </summary>
    internal Func<string, ReadResponse, ReadResponse>? ResponseInterceptor { get; set; }

    /// <summary>Entries <paramref name="firstEntryId"/> to <paramref name="lastEntryId"/> (inclusive), in order, several fetched ahead.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative first id, an empty range, or a last id past <see cref="LastAddConfirmed"/>.</exception>
    /// <exception cref="LedgerException">(while enumerating) no replica could serve an entry.</exception>
    public IAsyncEnumerable<LedgerEntry> ReadAsync(long firstEntryId, long lastEntryId, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstEntryId);
        if (lastEntryId < firstEntryId)
            throw new ArgumentOutOfRangeException(nameof(lastEntryId), lastEntryId, $"The last entry id {lastEntryId} is before the first {firstEntryId}.");
        if (lastEntryId > LastAddConfirmed)
            throw new ArgumentOutOfRangeException(nameof(lastEntryId), lastEntryId,
                $"Ledger {LedgerId} is readable only up to entry {LastAddConfirmed} ({(IsClosed ? "its last entry" : "its last add confirmed")}); entry {lastEntryId} is past it.");
        return ReadRangeAsync(firstEntryId, lastEntryId, cancellationToken);
    }

    /// <summary>
    /// Entries in runs: where every bookie of the ensemble stores every entry (ensemble size = write quorum, as a
    /// standalone's single bookie or a mirrored ensemble), a run of up to <see cref="MaxStreamedEntries"/> entries
    /// of one segment comes from one replica as one ReadRange stream, not one call per entry. A striped ensemble
    /// spreads neighbouring entries over different bookies, so those are read one call per entry, several ahead.
    /// Whatever a stream fails to deliver intact (the replica is down, lacks an entry, or its digest does not
    /// match) is read entry by entry from the write set, so a bad replica costs only a retry.
    /// </summary>
    private async IAsyncEnumerable<LedgerEntry> ReadRangeAsync(long firstEntryId, long lastEntryId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = firstEntryId;
        while (next <= lastEntryId)
        {
            var (segment, segmentLast) = SegmentAndLastFor(next);
            var runLast = Math.Min(lastEntryId, segmentLast);
            if (_schedule.EnsembleSize == _schedule.WriteQuorum)
            {
                runLast = Math.Min(runLast, next + MaxStreamedEntries - 1);
                var bookieId = segment.Bookies[_schedule.BookieIndex(next, 0)];
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                using var call = StartRange(bookieId, next, runLast, timeout);
                while (next <= runLast && call is not null)
                {
                    timeout.CancelAfter(_options.ReadTimeout);
                    if (await NextStreamedAsync(call, bookieId, next, timeout.Token, cancellationToken).ConfigureAwait(false) is not { } entry)
                        break;
                    yield return entry;
                    next++;
                }
            }
            // The run's entries the stream did not deliver (or all of them, for a striped ensemble): one by one.
            if (next <= runLast)
            {
                await foreach (var entry in ReadAheadAsync(next, runLast, cancellationToken).ConfigureAwait(false))
                    yield return entry;
                next = runLast + 1;
            }
        }
    }

    /// <summary>Entries a stream carries at most: one call's deadline is renewed per entry, and an abandoned read stops soon.</summary>
    internal const int MaxStreamedEntries = 256;

    private AsyncServerStreamingCall<ReadResponse>? StartRange(string bookieId, long first, long last, CancellationTokenSource timeout)
    {
        try
        {
            return _pool.Get(bookieId).ReadRange(new ReadRangeRequest { LedgerId = LedgerId, FirstEntryId = first, LastEntryId = last },
                cancellationToken: timeout.Token);
        }
        catch (RpcException e)
        {
            LedgerLog.ReplicaReadFailed(_logger, LedgerId, first, bookieId, $"{e.StatusCode}: {e.Status.Detail}");
            return null;
        }
    }

    /// <summary>The next entry of a range stream, digest verified; null (logged) when the stream failed or the replica served it damaged.</summary>
    private async ValueTask<LedgerEntry?> NextStreamedAsync(AsyncServerStreamingCall<ReadResponse> call, string bookieId, long entryId,
        CancellationToken timeout, CancellationToken cancellationToken)
    {
        ReadResponse response;
        try
        {
            if (!await call.ResponseStream.MoveNext(timeout).ConfigureAwait(false))
            {
                LedgerLog.ReplicaReadFailed(_logger, LedgerId, entryId, bookieId, "its range stream ended early");
                return null;
            }
            response = call.ResponseStream.Current;
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LedgerLog.ReplicaReadFailed(_logger, LedgerId, entryId, bookieId, e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : "timed out");
            return null;
        }
        if (ResponseInterceptor is { } intercept)
            response = intercept(bookieId, response);
        if (response.Code != Code.Ok)
        {
            LedgerLog.ReplicaReadFailed(_logger, LedgerId, entryId, bookieId, $"{response.Code}");
            return null;
        }
        if (response.LedgerId != LedgerId || response.EntryId != entryId
            || !LedgerDigest.Verify(LedgerId, entryId, response.LastAddConfirmed, response.Payload.Span, response.Digest))
        {
            LedgerLog.DigestMismatch(_logger, LedgerId, entryId, bookieId);
            return null;
        }
        return new LedgerEntry(entryId, response.Payload.Memory);
    }

    /// <summary>Entries one call each, from the first replica of each write set that serves it intact, <see cref="LedgerClientOptions.ReadAheadEntries"/> ahead.</summary>
    private async IAsyncEnumerable<LedgerEntry> ReadAheadAsync(long firstEntryId, long lastEntryId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ahead = new Queue<Task<LedgerEntry>>();
        var next = firstEntryId;
        try
        {
            while (next <= lastEntryId || ahead.Count > 0)
            {
                while (next <= lastEntryId && ahead.Count < _options.ReadAheadEntries)
                    ahead.Enqueue(ReadEntryAsync(next++, stop.Token));
                yield return await ahead.Dequeue().ConfigureAwait(false);
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(ahead.Cast<Task>()).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>One entry, from the first replica of its write set that serves it intact.</summary>
    public async Task<LedgerEntry> ReadEntryAsync(long entryId, CancellationToken cancellationToken = default)
    {
        if (entryId < 0 || entryId > LastAddConfirmed)
            throw new ArgumentOutOfRangeException(nameof(entryId), entryId, $"Ledger {LedgerId} is readable from entry 0 up to entry {LastAddConfirmed}.");
        var response = await ReadStoredAsync(entryId, skipBookie: null, cancellationToken).ConfigureAwait(false);
        return new LedgerEntry(entryId, response.Payload.Memory);
    }

    /// <summary>
    /// One entry exactly as a replica of its write set stored it (LAC, digest and payload, digest
    /// verified), trying the replicas in order and skipping <paramref name="skipBookie"/>.
    /// </summary>
    internal async Task<ReadResponse> ReadStoredAsync(long entryId, string? skipBookie, CancellationToken cancellationToken)
    {
        var ensemble = SegmentFor(entryId).Bookies;
        var tried = new List<string>(_schedule.WriteQuorum);
        for (var replica = 0; replica < _schedule.WriteQuorum; replica++)
        {
            var bookieId = ensemble[_schedule.BookieIndex(entryId, replica)];
            if (string.Equals(bookieId, skipBookie, StringComparison.Ordinal))
                continue;
            ReadResponse response;
            try
            {
                response = await _pool.Get(bookieId).ReadEntryAsync(new ReadRequest { LedgerId = LedgerId, EntryId = entryId },
                    deadline: DateTime.UtcNow + _options.ReadTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                Skip(bookieId, $"{e.StatusCode}: {e.Status.Detail}");
                continue;
            }
            if (ResponseInterceptor is { } intercept)
                response = intercept(bookieId, response);
            if (response.Code != Code.Ok)
            {
                Skip(bookieId, $"{response.Code}");
                continue;
            }
            if (response.LedgerId != LedgerId || response.EntryId != entryId
                || !LedgerDigest.Verify(LedgerId, entryId, response.LastAddConfirmed, response.Payload.Span, response.Digest))
            {
                LedgerLog.DigestMismatch(_logger, LedgerId, entryId, bookieId);
                tried.Add($"{bookieId} (digest mismatch)");
                continue;
            }
            return response;
        }
        throw new LedgerException($"Entry {LedgerId}:{entryId} could not be read from any replica of its write set: {string.Join(", ", tried)}.");

        void Skip(string bookieId, string reason)
        {
            LedgerLog.ReplicaReadFailed(_logger, LedgerId, entryId, bookieId, reason);
            tried.Add($"{bookieId} ({reason})");
        }
    }

    private Segment SegmentFor(long entryId) => SegmentAndLastFor(entryId).Segment;

    /// <summary>The segment holding <paramref name="entryId"/> and its last entry id (long.MaxValue for the last segment).</summary>
    private (Segment Segment, long Last) SegmentAndLastFor(long entryId)
    {
        var found = 0;
        for (var i = 1; i < _segments.Length && _segments[i].FirstEntryId <= entryId; i++)
            found = i;
        return (_segments[found], found + 1 < _segments.Length ? _segments[found + 1].FirstEntryId - 1 : long.MaxValue);
    }
}
