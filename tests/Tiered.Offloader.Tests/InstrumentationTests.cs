using System.Runtime.CompilerServices;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Offloader.Parquet;
using Tiered.Offloader.Stored;
using Tiered.Offloader.Stores;
using Tiered.Offloader.Tests.Parquet;

namespace Tiered.Offloader.Tests;

/// <summary>Tiered storage's instruments move by what was offloaded and read back.</summary>
public sealed class InstrumentationTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("tiered-offload-metrics-");
    private readonly Instrumentation _instrumentation = new(meterFactory: null);

    private StoreAddress Target => TieredStorage.AddressOf(new ObjectStoreSettings { Driver = "filesystem", Directory = Path.Combine(_root.FullName, "store") });

    private TieredStorage NewStorage() => new(new TieredStorageOptions
    {
        SpoolDirectory = Path.Combine(_root.FullName, "spool"),
        Parquet = new ParquetLedgerOptions { MaxRowGroupBytes = 64 << 10, Compression = ParquetCompression.None },
    }, NullLoggerFactory.Instance, _instrumentation);

    private static async IAsyncEnumerable<OffloadEntry> Source(IEnumerable<long> ids, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var id in ids)
        {
            await Task.Yield();
            yield return new OffloadEntry(id, LedgerFixtures.Batch((int)id, messages: 10, payloadBytes: 500));
        }
    }

    [Fact]
    public async Task An_offload_counts_its_ledger_bytes_and_duration_and_a_read_back_the_object_bytes_it_fetched()
    {
        using var offloaded = new MetricCollector<long>(_instrumentation.OffloadedBytes);
        using var durations = new MetricCollector<double>(_instrumentation.OffloadDuration);
        using var failures = new MetricCollector<long>(_instrumentation.OffloadFailures);
        using var read = new MetricCollector<long>(_instrumentation.ReadBytes);
        using var storage = NewStorage();

        var ledger = await storage.OffloadLedgerAsync(new OffloadRun(Target, "t/ns/persistent/topic", 3, 99, "run1"), Source(Enumerable.Range(0, 100).Select(i => (long)i)));

        Assert.Equal(ledger.LedgerBytes, Assert.Single(offloaded.GetMeasurementSnapshot()).Value);
        Assert.InRange(Assert.Single(durations.GetMeasurementSnapshot()).Value, 0, 60);
        Assert.Empty(failures.GetMeasurementSnapshot());
        Assert.Empty(read.GetMeasurementSnapshot());

        using var reader = NewStorage();
        await foreach (var _ in reader.ReadAsync(ledger, 0, 99))
        {
        }
        var stored = Assert.Single(ledger.Objects);
        var layout = await reader.LayoutOfAsync(ledger, 0);
        Assert.Equal(layout.RowGroups.Sum(g => g.Length) + (stored.Size - stored.FooterOffset), read.GetMeasurementSnapshot().Sum(m => m.Value));
    }

    [Fact]
    public async Task A_failed_offload_counts_a_failure_and_no_bytes()
    {
        using var offloaded = new MetricCollector<long>(_instrumentation.OffloadedBytes);
        using var failures = new MetricCollector<long>(_instrumentation.OffloadFailures);
        using var storage = NewStorage();

        await Assert.ThrowsAsync<OffloadException>(() => storage.OffloadLedgerAsync(new OffloadRun(Target, "t/ns/persistent/topic", 4, 2, "run1"), Source([0, 2])));

        Assert.Equal(1, Assert.Single(failures.GetMeasurementSnapshot()).Value);
        Assert.Empty(offloaded.GetMeasurementSnapshot());
    }

    public void Dispose()
    {
        _instrumentation.Dispose();
        _root.Delete(recursive: true);
    }
}
