using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Tiered.Testing;

using static Tiered.Ledger.Tests.LedgerTestData;

namespace Tiered.Ledger.Tests;

/// <summary>The ledger client's instruments move by what the client did.</summary>
public sealed class InstrumentationTests
{
    [Fact]
    public async Task Every_confirmed_add_records_one_add_latency()
    {
        await using var cluster = await BookieCluster.StartAsync(1);
        using var instrumentation = new Instrumentation(meterFactory: null);
        using var latency = new MetricCollector<double>(instrumentation.AddLatency);
        await using var client = new LedgerClient(cluster.Metadata, instrumentation: instrumentation);
        var writer = await client.CreateLedgerAsync(1, 1, 1);

        for (var i = 0; i < 7; i++)
            await writer.AddEntryAsync(Payload(i));

        var recorded = latency.GetMeasurementSnapshot();
        Assert.Equal(7, recorded.Count);
        Assert.All(recorded, m => Assert.InRange(m.Value, 0, 60));
    }
}
