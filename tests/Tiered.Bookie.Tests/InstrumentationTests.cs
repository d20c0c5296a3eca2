using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie.Storage;

namespace Tiered.Bookie.Tests;

/// <summary>The bookie's instruments move by what its storage did.</summary>
public sealed class InstrumentationTests
{
    [Fact]
    public async Task Adds_and_reads_record_their_latencies_and_the_journal_its_fsyncs_and_groups()
    {
        using var dir = new TempDirectory();
        using var instrumentation = new Instrumentation(meterFactory: null);
        using var adds = new MetricCollector<double>(instrumentation.AddLatency);
        using var reads = new MetricCollector<double>(instrumentation.ReadLatency);
        using var fsyncs = new MetricCollector<double>(instrumentation.JournalFsyncLatency);
        using var groups = new MetricCollector<int>(instrumentation.JournalGroupRecords);
        await using var storage = await BookieStorage.OpenAsync(Path.Combine(dir.Path, "data"), Path.Combine(dir.Path, "journal"), 64L * 1024 * 1024,
            NullLogger.Instance, instrumentation: instrumentation);

        for (long e = 0; e < 5; e++)
            Assert.Equal(StorageResult.Ok, await storage.AddAsync(1, e, e - 1, 0, new byte[100], recovery: false, CancellationToken.None));
        for (long e = 0; e < 3; e++)
            Assert.Equal(StorageResult.Ok, storage.Read(1, e).Result);
        Assert.Equal(StorageResult.NoSuchLedger, storage.Read(2, 0).Result);

        Assert.Equal(5, adds.GetMeasurementSnapshot().Count);
        Assert.Equal(3, reads.GetMeasurementSnapshot().Count);
        // Every record is made durable by exactly one group commit.
        Assert.Equal(5, groups.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(storage.Journal.Fsyncs, fsyncs.GetMeasurementSnapshot().Count);
    }

    [Fact]
    public async Task Write_cache_bytes_and_ledgers_are_observed_from_the_storage()
    {
        using var dir = new TempDirectory();
        using var instrumentation = new Instrumentation(meterFactory: null);
        using var cacheBytes = new MetricCollector<long>(instrumentation.Meter, "tiered_bookie_write_cache_bytes");
        using var ledgers = new MetricCollector<long>(instrumentation.Meter, "tiered_bookie_ledgers");
        await using var storage = await BookieStorage.OpenAsync(Path.Combine(dir.Path, "data"), Path.Combine(dir.Path, "journal"), 64L * 1024 * 1024,
            NullLogger.Instance, instrumentation: instrumentation);

        for (long ledger = 1; ledger <= 3; ledger++)
            Assert.Equal(StorageResult.Ok, await storage.AddAsync(ledger, 0, -1, 0, new byte[1000], recovery: false, CancellationToken.None));
        cacheBytes.RecordObservableInstruments();
        ledgers.RecordObservableInstruments();
        Assert.Equal(3, ledgers.LastMeasurement?.Value);
        Assert.Equal(storage.WriteCacheBytes, cacheBytes.LastMeasurement?.Value);
        Assert.InRange(cacheBytes.LastMeasurement!.Value, 3 * 1000, 3 * 1100);

        await storage.FlushAsync(CancellationToken.None);
        cacheBytes.RecordObservableInstruments();
        Assert.Equal(0, cacheBytes.LastMeasurement?.Value);
    }
}
