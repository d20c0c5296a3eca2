using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Tiered.Metadata;
using Tiered.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tiered.Tests.Cluster;

/// <summary>Three `tiered metadata` processes; the leader is killed with SIGKILL while writes run.</summary>
public sealed class MetadataFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan LeaderTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Killing_the_leader_loses_no_acknowledged_write_and_writes_resume_within_5_seconds()
    {
        await using var cluster = await MetadataCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync(LeaderTimeout);

        var acknowledged = new ConcurrentDictionary<string, string>();
        var killedAt = long.MaxValue;
        var firstAckAfterKill = 0L; // ack time of the first write that was sent after the old leader died
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var key = $"/failover/w{w}/{i:D6}";
                var value = $"value-{w}-{i}";
                // Retry the same unconditional put until it is acknowledged: an OutcomeUnknown
                // attempt may have been applied, and repeating it is harmless.
                while (!stop.IsCancellationRequested)
                {
                    var sentAt = Stopwatch.GetTimestamp();
                    try
                    {
                        await cluster.Client.PutAsync(key, Encoding.UTF8.GetBytes(value));
                        acknowledged[key] = value;
                        if (sentAt > Interlocked.Read(ref killedAt))
                            Interlocked.CompareExchange(ref firstAckAfterKill, Stopwatch.GetTimestamp(), 0);
                        break;
                    }
                    catch (MetadataException e) when (e.Code is MetadataErrorCode.OutcomeUnknown or MetadataErrorCode.Unavailable)
                    {
                    }
                }
            }
        })).ToArray();

        await WaitUntilAsync(() => acknowledged.Count >= 500, TimeSpan.FromSeconds(30), "500 writes before the kill");
        var beforeKill = acknowledged.Count;
        cluster.Kill(leader); // returns once the process is gone
        Interlocked.Exchange(ref killedAt, Stopwatch.GetTimestamp());
        output.WriteLine($"killed leader node {leader + 1} after {beforeKill} acknowledged writes");

        await WaitUntilAsync(() => Interlocked.Read(ref firstAckAfterKill) != 0, TimeSpan.FromSeconds(10), "a write sent after the kill to be acknowledged");
        var resumedAfter = Stopwatch.GetElapsedTime(Interlocked.Read(ref killedAt), Interlocked.Read(ref firstAckAfterKill));
        output.WriteLine($"writes resumed {resumedAfter.TotalMilliseconds:0} ms after the kill");
        var afterResume = acknowledged.Count;
        await WaitUntilAsync(() => acknowledged.Count >= afterResume + 500, TimeSpan.FromSeconds(30), "500 writes on the new leader");
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.True(resumedAfter < TimeSpan.FromSeconds(5), $"writes resumed only after {resumedAfter}");
        var newLeader = await cluster.WaitForLeaderAsync(LeaderTimeout);
        Assert.NotEqual(leader, newLeader);

        var stored = (await cluster.Client.ListAsync("/failover/")).ToDictionary(kv => kv.Key, kv => kv.Value.ToStringUtf8());
        var lost = acknowledged.Where(a => !stored.TryGetValue(a.Key, out var v) || v != a.Value).Select(a => a.Key).ToList();
        output.WriteLine($"{acknowledged.Count} acknowledged, {stored.Count} stored, {lost.Count} lost");
        Assert.Empty(lost);

        // The killed node restarts from its own disk and catches up with everything.
        await cluster.StartNodeAsync(leader);
        var leaderRevision = (await cluster.StatusAsync(newLeader))!.Revision;
        await WaitUntilAsync(async () => (await cluster.StatusAsync(leader))?.Revision >= leaderRevision, TimeSpan.FromSeconds(30), "the restarted node to catch up");
        await using var direct = new MetadataClient([$"127.0.0.1:{cluster.ClientPorts[leader]}"]);
        var onRestarted = (await direct.ListAsync("/failover/", ReadConsistency.Stale)).ToDictionary(kv => kv.Key, kv => kv.Value.ToStringUtf8());
        var missingOnRestarted = acknowledged.Where(a => !onRestarted.TryGetValue(a.Key, out var v) || v != a.Value).ToList();
        Assert.Empty(missingOnRestarted);
    }

    [Fact]
    public async Task Every_write_survives_a_full_restart_of_the_cluster()
    {
        await using var cluster = await MetadataCluster.StartAsync(3);
        await cluster.WaitForLeaderAsync(LeaderTimeout);
        var written = new Dictionary<string, (string Value, long Revision)>();
        for (var i = 0; i < 300; i++)
        {
            var kv = await cluster.Client.PutAsync($"/restart/{i:D4}", Encoding.UTF8.GetBytes($"v{i}"));
            written[kv.Key] = ($"v{i}", kv.ModRevision);
        }
        var firstId = await cluster.Client.NextIdAsync("ledgers", 100);

        for (var i = 0; i < cluster.Size; i++)
            cluster.Kill(i);
        await Task.WhenAll(Enumerable.Range(0, cluster.Size).Select(cluster.StartNodeAsync));
        await cluster.WaitForLeaderAsync(LeaderTimeout);

        var stored = await cluster.Client.ListAsync("/restart/");
        Assert.Equal(written.Count, stored.Count);
        foreach (var kv in stored)
            Assert.Equal(written[kv.Key], (kv.Value.ToStringUtf8(), kv.ModRevision));
        // Ids never repeat across restarts.
        Assert.Equal(firstId + 100, await cluster.Client.NextIdAsync("ledgers"));
    }

    private static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitUntilAsync(() => Task.FromResult(condition()), timeout, what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}.");
            await Task.Delay(20);
        }
    }
}
