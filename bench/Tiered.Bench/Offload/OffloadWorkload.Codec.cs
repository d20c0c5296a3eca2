using System.Diagnostics;
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

        using var output = new MemoryStream(checked((int)(bytes + bytes / 4)));
        var cpu = StartCpu();
        var started = Stopwatch.GetTimestamp();
        ParquetObjectLayout layout;
        await using (var writer = new LedgerParquetWriter(output, ledgerId: 1, new ParquetLedgerOptions()))
        {
            for (var i = 0; i < entries.Length; i++)
                await writer.AddEntryAsync(i, entries[i], cancellationToken);
            layout = await writer.CompleteAsync(cancellationToken);
        }
        var encode = new ThroughputResult("Parquet encode only (1 thread, in memory)", "memory", 1, count, bytes, Stopwatch.GetElapsedTime(started), cpu.Stop(), ServerNames,
            ObjectBytes: layout.Size, Objects: 1);

        cpu = StartCpu();
        started = Stopwatch.GetTimestamp();
        long decoded = 0;
        for (var group = 0; group < layout.RowGroups.Count; group++)
        {
            foreach (var entry in await LedgerParquetReader.ReadRowGroupAsync(output, group, cancellationToken))
                decoded += entry.Data.Length;
        }
        var decode = new ThroughputResult("Parquet decode only (1 thread, in memory)", "memory", 1, count, decoded, Stopwatch.GetElapsedTime(started), cpu.Stop(), ServerNames,
            RowGroupsFetched: layout.RowGroups.Count);
        if (decoded != bytes)
            throw new InvalidOperationException($"Decoding the Parquet object gave {decoded} bytes of entries, {bytes} were encoded.");
        return [encode, decode];
    }
}
