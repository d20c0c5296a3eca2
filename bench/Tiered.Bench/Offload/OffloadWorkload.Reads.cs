using System.Diagnostics;
using Tiered.ManagedLedgers;
using Tiered.Offloader;

namespace Tiered.Bench.Offload;

public sealed partial class OffloadWorkload
{
    /// <summary>Entries after a cold read whose row groups the cached samples read (the entry's own or one fetched ahead).</summary>
    private const int CachedSpread = 10;

    /// <summary>
    /// A consumer catching up: a new managed ledger instance (entry cache off) reads every entry of
    /// the closed ledgers in order, <see cref="OffloadBenchOptions.ReadBatch"/> at a time, from the
    /// bookies while they hold the ledgers, else from the objects through a new tiered storage.
    /// </summary>
    public async Task<ThroughputResult> CatchUpAsync(string store, string source, CancellationToken cancellationToken)
    {
        using var storage = NewStorage();
        await using var ledger = await OpenAsync(store, storage, create: false);
        var closed = ledger.Ledgers.Where(l => !l.IsOpen && l.Entries > 0).ToList();
        var end = new Position(closed[^1].LedgerId, closed[^1].Entries - 1);
        var position = ledger.FirstPosition;
        long entries = 0;
        long bytes = 0;
        var cpu = StartCpu();
        var gc = new GcMeter();
        var started = Stopwatch.GetTimestamp();
        await using (var progress = new ByteProgress($"catch-up {store} from {source}", closed.Sum(l => l.Size)))
        {
            while (true)
            {
                var batch = await ledger.ReadEntriesAsync(position, options.ReadBatch, cancellationToken);
                if (batch.Count == 0)
                    break;
                foreach (var entry in batch)
                {
                    entries++;
                    bytes += entry.Data.Length;
                    progress.Report(entry.Data.Length);
                }
                var last = batch[^1].Position;
                if (last >= end)
                    break;
                position = ledger.GetNextPosition(last);
            }
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        var usage = cpu.Stop();
        var collections = gc.Stop();
        var expected = closed.Sum(l => l.Entries);
        if (entries != expected)
            throw new InvalidOperationException($"Catch-up of {LedgerName(store)} from {source} read {entries} entries, expected {expected}.");
        return new ThroughputResult($"catch-up from {source}", source, closed.Count, entries, bytes, elapsed, usage, ServerNames,
            RowGroupsFetched: storage.RowGroupsFetched, Gc: collections);
    }

    /// <summary>
    /// Reads the first <paramref name="entries"/> entries untimed, so the code of the read path is
    /// compiled (as in a broker that has been running) before a timed phase uses it.
    /// </summary>
    public async Task WarmUpAsync(string store, int entries, CancellationToken cancellationToken)
    {
        using var storage = NewStorage();
        await using var ledger = await OpenAsync(store, storage, create: false);
        var position = ledger.FirstPosition;
        for (var read = 0; read < entries;)
        {
            var batch = await ledger.ReadEntriesAsync(position, options.ReadBatch, cancellationToken);
            if (batch.Count == 0)
                break;
            read += batch.Count;
            position = ledger.GetNextPosition(batch[^1].Position);
        }
    }

    /// <summary>
    /// Latency of reading one offloaded entry. Cold: each sample is a new tiered storage (no footer,
    /// no row group cached; its store client warmed by one LIST so connection setup is not counted)
    /// and a new managed ledger instance reading one random entry. Cached: entries at or just after
    /// the last cold one, whose row groups that read fetched (the entry's own, or fetched ahead),
    /// after one untimed pass.
    /// </summary>
    /// <param name="readAheadRowGroups">The tiered storage's read-ahead; with 0, cold reads fetch only the entry's row group.</param>
    public async Task<IReadOnlyList<LatencyResult>> LatencyAsync(string store, int readAheadRowGroups, CancellationToken cancellationToken)
    {
        var random = new Random(7);
        var cold = new List<double>(options.ColdSamples);
        long coldFetches = 0;
        LatencyResult? cached = null;
        for (var sample = 0; sample < options.ColdSamples; sample++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var storage = NewStorage(readAheadRowGroups);
            await foreach (var _ in storage.GetStore(AddressOf(store)).ListAsync("", cancellationToken))
                break;
            await using var ledger = await OpenAsync(store, storage, create: false);
            var offloaded = ledger.Ledgers.Where(l => l.BookieDeleted).ToList();
            var chosen = offloaded[random.Next(offloaded.Count)];
            var entryId = random.NextInt64(chosen.Entries);
            var position = new Position(chosen.LedgerId, entryId);

            var started = Stopwatch.GetTimestamp();
            var read = await ledger.ReadEntriesAsync(position, 1, cancellationToken);
            cold.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Check(read, position);
            coldFetches += storage.RowGroupsFetched;

            if (sample == options.ColdSamples - 1 && readAheadRowGroups == DefaultReadAhead)
                cached = await CachedAsync(store, ledger, storage, chosen, entryId, random, cancellationToken);
        }
        cold.Sort();
        var kind = readAheadRowGroups == DefaultReadAhead ? "cold" : $"cold, read-ahead {readAheadRowGroups}";
        return readAheadRowGroups == DefaultReadAhead
            ? [new LatencyResult(store, kind, cold, coldFetches), cached!]
            : [new LatencyResult(store, kind, cold, coldFetches)];
    }

    private async Task<LatencyResult> CachedAsync(string store, ManagedLedger ledger, TieredStorage storage, LedgerSummary chosen, long entryId,
        Random random, CancellationToken cancellationToken)
    {
        var first = Math.Max(0, Math.Min(entryId, chosen.Entries - 1 - CachedSpread));
        var last = Math.Min(chosen.Entries - 1, first + CachedSpread);
        for (var id = first; id <= last; id++)
            Check(await ledger.ReadEntriesAsync(new Position(chosen.LedgerId, id), 1, cancellationToken), new Position(chosen.LedgerId, id));
        var fetchedBefore = storage.RowGroupsFetched;
        var samples = new double[options.CachedSamples];
        for (var i = 0; i < samples.Length; i++)
        {
            var position = new Position(chosen.LedgerId, first + random.NextInt64(last - first + 1));
            var started = Stopwatch.GetTimestamp();
            var read = await ledger.ReadEntriesAsync(position, 1, cancellationToken);
            samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            Check(read, position);
        }
        Array.Sort(samples);
        return new LatencyResult(store, "cached", samples, storage.RowGroupsFetched - fetchedBefore);
    }

    private static void Check(IReadOnlyList<ManagedEntry> read, Position expected)
    {
        if (read.Count != 1 || read[0].Position != expected)
            throw new InvalidOperationException($"Reading entry {expected} returned {(read.Count == 0 ? "nothing" : read[0].Position.ToString())}.");
    }
}
