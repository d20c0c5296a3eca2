using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Metadata.Raft;

namespace Tiered.Metadata.Tests;

/// <summary>The metadata node's instruments, on a real single-node Raft cluster.</summary>
public sealed class InstrumentationTests
{
    [Fact]
    public async Task Each_write_records_one_proposal_latency_and_the_leader_reports_its_term_and_indexes()
    {
        var dataDir = Directory.CreateTempSubdirectory("tiered-meta-metrics-").FullName;
        try
        {
            using var instrumentation = new Instrumentation(meterFactory: null);
            using var proposals = new MetricCollector<double>(instrumentation.ProposalLatency);
            using var term = new MetricCollector<long>(instrumentation.Meter, "tiered_metadata_raft_term");
            using var leader = new MetricCollector<long>(instrumentation.Meter, "tiered_metadata_raft_is_leader");
            using var commit = new MetricCollector<long>(instrumentation.Meter, "tiered_metadata_raft_commit_index");
            var options = new MetadataNodeOptions { DataDir = dataDir, Peers = [$"127.0.0.1:{Testing.LocalMetadata.FreePort()}"] };
            await using var node = await MetadataNode.StartAsync(options, "http://127.0.0.1:1", NullLoggerFactory.Instance, instrumentation: instrumentation);
            await node.WaitForLeaderAsync(TimeSpan.FromSeconds(30), CancellationToken.None);

            for (var i = 0; i < 3; i++)
                await node.PutAsync($"/metrics/{i}", new byte[] { 1 });

            Assert.Equal(3, proposals.GetMeasurementSnapshot().Count);
            term.RecordObservableInstruments();
            leader.RecordObservableInstruments();
            commit.RecordObservableInstruments();
            Assert.Equal(1, leader.LastMeasurement?.Value);
            Assert.Equal("1", leader.LastMeasurement?.Tags["node"]);
            // A lone node leads from the term it starts in (0 on a fresh log); a cluster's term rises with each election.
            Assert.Equal(node.Term, term.LastMeasurement!.Value);
            Assert.InRange(commit.LastMeasurement!.Value, 3, long.MaxValue);
            Assert.Equal(node.CommitIndex, commit.LastMeasurement.Value);
            Assert.Equal(node.LastAppliedIndex, commit.LastMeasurement.Value);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
