using System.Diagnostics;
using Tiered.Offloader;
using Tiered.Offloader.Parquet;

namespace Tiered.Bench.Offload;

public sealed partial class OffloadWorkload
{
    /// <summary>
    /// The Parquet format alone, on one thread and in memory: one ledger's worth of the same
    /// entries written by <see cref="LedgerParquetWriter"/> into a memory stream, then every row
    /// group read back by <see cref="LedgerParquetReader"/> as a read from a store does. What an
    /// offload or a catch-up from objects can reach per core, whatever the bookie, store and disk.
    /// </summary>
    /// <remarks>Then the offloader itself on the same entries, without the bookie (<see cref="OffloaderAloneAsync"/>).</remarks>
    public async Task<IReadOnlyList<ThroughputResult>> ParquetCodecAsync(CancellationToken cancellationToken)
    {
        var generator = new BatchEntries(options.Payload);
        var first = generator.Next();
        var count = Math.Max(1, (int)(options.LedgerMB * 1e6 / first.Length));
        var entries = new byte[count][];
        entries[0] = first;
        for (var i = 1; i < count; i++)
            entries[i] = generator.Next();
        var bytes = entries.Sum(e => (long)e.Length);
        Console.Error.WriteLine($"  [parquet] encoding and decoding {bytes / 1e6:N0} MB in memory...");

        ParquetObjectLayout layout = null!;
        using var output = new MemoryStream(checked((int)(bytes + bytes / 4)));
        var encode = await MedianAsync("Parquet encode only (1 thread, into memory)", count, async () =>
        {
            output.SetLength(0);
            layout = await EncodeAsync(output, entries, cancellationToken);
            return (bytes, layout.Size);
        });
        var spoolPath = Path.Combine(dataRoot, "encode-probe.spool");
        var encodeToFile = await MedianAsync("Parquet encode only (1 thread, into a file opened as the offload spool is)", count, async () =>
        {
            await using var file = new FileStream(spoolPath, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16,
                FileOptions.Asynchronous | FileOptions.DeleteOnClose);
            var written = await EncodeAsync(file, entries, cancellationToken);
            await file.FlushAsync(cancellationToken);
            return (bytes, written.Size);
        });
        var decode = await MedianAsync("Parquet decode only (1 thread, from memory)", count, async () =>
        {
            long decoded = 0;
            for (var group = 0; group < layout.RowGroups.Count; group++)
            {
                foreach (var entry in await LedgerParquetReader.ReadRowGroupAsync(output, group, cancellationToken))
                    decoded += entry.Data.Length;
            }
            if (decoded != bytes)
                throw new InvalidOperationException($"Decoding the Parquet object gave {decoded} bytes of entries, {bytes} were encoded.");
            return (decoded, 0);
        });
        List<ThroughputResult> results = [encode, encodeToFile, decode];
        foreach (var store in options.Stores)
            results.Add(await OffloaderAloneAsync(store, entries, cancellationToken));
        return results;
    }

    /// <summary>Repetitions of each in-memory measurement; the median is reported (one pass of 100 MB is short enough for a GC to skew it).</summary>
    private const int Repetitions = 5;

    /// <summary>Runs <paramref name="pass"/> <see cref="Repetitions"/> times and returns the pass with the median time.</summary>
    private async Task<ThroughputResult> MedianAsync(string name, int entries, Func<Task<(long Bytes, long ObjectBytes)>> pass)
    {
        var passes = new List<ThroughputResult>(Repetitions);
        for (var i = 0; i < Repetitions; i++)
        {
            var cpu = StartCpu();
        var gc = new GcMeter();
            var started = Stopwatch.GetTimestamp();
            var (bytes, objectBytes) = await pass();
            passes.Add(new ThroughputResult(name, "memory", 1, entries, bytes, Stopwatch.GetElapsedTime(started), cpu.Stop(), ServerNames,
                ObjectBytes: objectBytes, Objects: objectBytes > 0 ? 1 : 0, Gc: gc.Stop()));
        }
        return passes.OrderBy(p => p.Elapsed).ElementAt(Repetitions / 2);
    }

    private static async Task<ParquetObjectLayout> EncodeAsync(Stream output, byte[][] entries, CancellationToken cancellationToken)
    {
        await using var writer = new LedgerParquetWriter(output, ledgerId: 1, new ParquetLedgerOptions());
        for (var i = 0; i < entries.Length; i++)
            await writer.AddEntryAsync(i, entries[i], cancellationToken);
        return await writer.CompleteAsync(cancellationToken);
    }

    /// <summary>
    /// The offloader without the bookie: <see cref="TieredStorage.OffloadLedgerAsync"/> of the same
    /// entries from memory into the store (spool, upload, verification), as one ledger; then deleted.
    /// </summary>
    private async Task<ThroughputResult> OffloaderAloneAsync(string store, byte[][] entries, CancellationToken cancellationToken)
    {
        using var storage = NewStorage();
        const string name = "public/default/persistent/offloader-alone";
        var run = new OffloadRun(AddressOf(store), name, LedgerId: 1, entries.Length - 1, Guid.NewGuid().ToString("N"));
        var cpu = StartCpu();
        var gc = new GcMeter();
        var started = Stopwatch.GetTimestamp();
        var offloaded = await storage.OffloadLedgerAsync(run, FromMemory(entries), cancellationToken: cancellationToken);
        var result = new ThroughputResult($"offloader alone ({store}, entries from memory, 1 ledger)", store, 1, entries.Length, offloaded.LedgerBytes,
            Stopwatch.GetElapsedTime(started), cpu.Stop(), ServerNames, offloaded.Objects.Sum(o => o.Size), offloaded.Objects.Count, Gc: gc.Stop());
        await storage.DeleteAsync(offloaded, name, ledgerId: 1, cancellationToken);
        return result;
    }

    private static async IAsyncEnumerable<OffloadEntry> FromMemory(byte[][] entries)
    {
        for (var i = 0; i < entries.Length; i++)
            yield return new OffloadEntry(i, entries[i]);
        await Task.CompletedTask;
    }
}
