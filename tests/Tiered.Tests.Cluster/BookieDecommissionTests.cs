using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Tiered.Client;
using Tiered.Ledger;
using Tiered.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tiered.Tests.Cluster;

/// <summary>
/// Decommissioning a bookie through the admin API of a real cluster (a metadata node, three
/// `tiered bookie` processes, a `tiered broker`, E=Qw=Qa=2), as the Kubernetes operator does before
/// it deletes a bookie's pod and volume: while producers keep publishing, the bookie turns
/// read-only and auto-recovery copies its ledgers elsewhere; once the admin API says Done, no
/// ledger's metadata names it, so killing it with SIGKILL loses nothing. Also the refusals: an
/// unknown bookie (404) and one whose decommission would leave fewer writable bookies than the
/// ensemble size (409, nothing changed).
/// </summary>
public sealed class BookieDecommissionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan DrainBound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_decommissioned_bookie_is_drained_while_publishing_goes_on_and_killing_it_afterwards_loses_nothing()
    {
        await using var cluster = await BrokerCluster.StartAsync(1, 3, 1, (2, 2, 2), 0, "--max-entries-per-ledger", "60");
        await cluster.WaitReadyAsync(0, TimeSpan.FromSeconds(60));
        var metadata = cluster.Metadata.Client;
        using var http = new HttpClient { BaseAddress = new Uri(cluster.HttpUrl(0)), Timeout = TimeSpan.FromSeconds(30) };
        string[] topics = ["persistent://public/default/decommission-0", "persistent://public/default/decommission-1"];
        const string idleTopic = "persistent://public/default/decommission-idle";

        // A second subscription that nobody reads keeps every message until it is read back at the end.
        await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = cluster.ServiceUrls });
        foreach (var topic in topics.Append(idleTopic))
            await (await client.SubscribeAsync(new ConsumerOptions(topic, "hold") { InitialPosition = SubscriptionInitialPosition.Earliest })).DisposeAsync();
        await using var load = await ClusterLoad.StartAsync(cluster.ServiceUrls, topics, messagesPerSecond: 100);

        // A topic that goes idle with its ledger open: its writer has no add to be refused, yet must move off the bookie.
        await using var idleProducer = await client.CreateProducerAsync(new ProducerOptions(idleTopic) { BatchingEnabled = false });
        const int idleMessages = 50;
        for (var i = 0; i < idleMessages; i++)
            await idleProducer.SendAsync(Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await load.WaitForReceiptsAsync(200, TimeSpan.FromSeconds(30), "before the decommission");
        using var idleStats = JsonDocument.Parse(await http.GetStringAsync("/admin/v2/persistent/public/default/decommission-idle/internalStats"));
        var idleLedger = idleStats.RootElement.GetProperty("ledgers").EnumerateArray().Last().GetProperty("ledgerId").GetInt64();
        var idleEnsemble = (await new LedgerMetadataStore(metadata).GetAsync(idleLedger))!.Metadata.Segments.MaxBy(s => s.FirstEntryId)!.Bookies.ToList();

        // The victim: of the idle ledger's ensemble, the bookie most ledgers name.
        var before = await ReplicationReport.ReadAsync(metadata);
        var victimIndex = Enumerable.Range(0, cluster.BookieCount).Where(i => idleEnsemble.Contains(cluster.BookieId(i)))
            .MaxBy(i => before.LedgersNaming.GetValueOrDefault(cluster.BookieId(i)));
        var victim = cluster.BookieId(victimIndex);
        var others = Enumerable.Range(0, cluster.BookieCount).Where(i => i != victimIndex).Select(cluster.BookieId).ToList();
        Assert.True(before.LedgersNaming.GetValueOrDefault(victim) > 0, $"no ledger names {victim}");
        output.WriteLine($"victim {victim}: named by {before.LedgersNaming[victim]} of the ledgers");

        // Unknown bookie: 404, nothing stored.
        using (var unknown = await http.PostAsync("/admin/v2/bookies/127.0.0.1:1/decommission", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Contains("127.0.0.1:1", await unknown.Content.ReadAsStringAsync());
        }
        using (var never = await http.GetAsync($"/admin/v2/bookies/{victim}/decommission"))
            Assert.Equal(HttpStatusCode.NotFound, never.StatusCode);

        // Start it: 202 with the progress.
        using (var started = await http.PostAsync($"/admin/v2/bookies/{victim}/decommission", null))
        {
            var body = await started.Content.ReadAsStringAsync();
            Assert.True(started.StatusCode == HttpStatusCode.Accepted, $"{(int)started.StatusCode}: {body}");
            using var progress = JsonDocument.Parse(body);
            Assert.Equal(victim, progress.RootElement.GetProperty("bookieId").GetString());
            // Normally Draining; Done only if everything was copied in the moment before the answer was computed.
            Assert.Equal(progress.RootElement.GetProperty("ledgersRemaining").GetInt32() == 0 ? "Done" : "Draining", progress.RootElement.GetProperty("state").GetString());
        }

        // A second one would leave 1 writable bookie for ensembles of 2: 409, and nothing changes.
        using (var refused = await http.PostAsync($"/admin/v2/bookies/{others[0]}/decommission", null))
        {
            var body = await refused.Content.ReadAsStringAsync();
            Assert.True(refused.StatusCode == HttpStatusCode.Conflict, $"{(int)refused.StatusCode}: {body}");
            Assert.Contains("ensemble size", body);
        }
        Assert.Null(await metadata.GetAsync(BookiePaths.DecommissioningKey(others[0])));
        Assert.NotNull(await metadata.GetAsync(BookiePaths.AvailableKey(others[0])));

        // The CLI waits for Done (asking again is harmless: 200), while the producers keep publishing.
        var drainStarted = Stopwatch.GetTimestamp();
        var receiptsBefore = load.Topics.Sum(t => t.Acknowledged.Count);
        var (code, cli) = await TieredProcess.RunAsync(DrainBound + TimeSpan.FromSeconds(10),
            "admin", "--admin-url", cluster.HttpUrl(0), "bookies", "decommission", victim, "--wait", "--timeout", $"{(int)DrainBound.TotalSeconds}");
        output.WriteLine(cli);
        Assert.True(code == 0, $"decommission --wait exited {code}: {cli}\n{cluster.Logs()}");
        Assert.Contains("\"Done\"", cli);
        output.WriteLine($"drained in {Stopwatch.GetElapsedTime(drainStarted).TotalSeconds:0.0} s; "
            + $"{load.Topics.Sum(t => t.Acknowledged.Count) - receiptsBefore} messages acknowledged meanwhile");

        // Done means: no ledger's metadata names the bookie, and it is registered read-only.
        var after = await ReplicationReport.ReadAsync(metadata);
        Assert.False(after.LedgersNaming.ContainsKey(victim), $"{after.LedgersNaming.GetValueOrDefault(victim)} ledgers still name {victim}");
        Assert.Contains(victim, after.Decommissioning);
        Assert.DoesNotContain(victim, after.Writable);
        Assert.NotNull(await metadata.GetAsync(BookiePaths.ReadOnlyKey(victim)));
        // The idle topic's ledger is still open (its writer moved to another bookie, nobody closed it).
        var idleAfter = (await new LedgerMetadataStore(metadata).GetAsync(idleLedger))!.Metadata;
        Assert.Equal(Tiered.Bookie.V1.LedgerMetadata.Types.State.Open, idleAfter.State);
        Assert.DoesNotContain(victim, idleAfter.Segments.SelectMany(s => s.Bookies));
        using (var underReplicated = JsonDocument.Parse(await http.GetStringAsync("/admin/v2/bookies/under-replicated")))
            Assert.Equal(0, underReplicated.RootElement.GetProperty(victim).GetInt32());
        using (var status = JsonDocument.Parse(await http.GetStringAsync($"/admin/v2/bookies/{victim}/decommission")))
        {
            Assert.Equal("Done", status.RootElement.GetProperty("state").GetString());
            Assert.True(status.RootElement.GetProperty("readOnly").GetBoolean());
            Assert.Equal(0, status.RootElement.GetProperty("ledgersRemaining").GetInt32());
        }

        // What the operator does next: delete the bookie. Publishing goes on without it.
        cluster.KillBookie(victimIndex);
        await load.WaitForReceiptsAsync(100, TimeSpan.FromSeconds(30), "after the drained bookie was killed");
        await idleProducer.SendAsync(Encoding.UTF8.GetBytes(idleMessages.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await load.StopAndVerifyAsync(TimeSpan.FromSeconds(60), cluster, output);

        // Every acknowledged message is read back from the remaining bookies, none twice.
        var idle = new TopicLoad(idleTopic);
        for (var i = 0; i <= idleMessages; i++)
            idle.Acknowledged[i] = 0;
        foreach (var topic in load.Topics.Append(idle))
        {
            await using var consumer = await client.SubscribeAsync(new ConsumerOptions(topic.Name, "hold"));
            var seen = new Dictionary<int, MessageId>();
            var duplicated = 0;
            var deadline = Stopwatch.GetTimestamp() + (60 * Stopwatch.Frequency);
            // Until every acknowledged message is read, then for a quiet moment (a copy stored twice would come after).
            while (true)
            {
                var missing = topic.Acknowledged.Keys.Any(k => !seen.ContainsKey(k));
                if (missing && Stopwatch.GetTimestamp() > deadline)
                    break;
                using var wait = new CancellationTokenSource(missing ? TimeSpan.FromSeconds(10) : TimeSpan.FromMilliseconds(500));
                ReceivedMessage message;
                try
                {
                    message = await consumer.ReceiveAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    if (missing)
                        continue;
                    break;
                }
                var sequence = int.Parse(Encoding.UTF8.GetString(message.Payload.Span), System.Globalization.CultureInfo.InvariantCulture);
                if (seen.TryGetValue(sequence, out var id) && id != message.Id)
                    duplicated++;
                seen[sequence] = message.Id;
            }
            var lost = topic.Acknowledged.Keys.Count(k => !seen.ContainsKey(k));
            output.WriteLine($"{topic.Name}: {topic.Acknowledged.Count} acknowledged, {seen.Count} read back after the kill, {lost} lost, {duplicated} duplicated");
            Assert.Equal(0, lost);
            Assert.Equal(0, duplicated);
        }
    }
}
