using System.Diagnostics;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Client;
using Tiered.Testing;
using static System.FormattableString;
using static Tiered.Bench.Cluster.ClusterRun;

namespace Tiered.Bench.Cluster;

/// <summary>
/// The pause a producer sees while its bundle is unloaded: a steady producer publishes while the
/// bundle is unloaded through the admin API of a broker picked at random (PUT
/// /admin/v2/namespaces/{t}/{ns}/{bundle}/unload). Per trial: how long the PUT took, the longest gap
/// between two receipts around it, and the time from the PUT to the receipt of the first message
/// sent after it (the next lookup places the bundle again, maybe on another broker).
/// </summary>
public sealed class UnloadPhase(BrokerCluster cluster, ClusterBenchOptions options)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var ns = await cluster.CreateNamespaceAsync("unload", 4);
        var topic = $"persistent://{ns}/steady";
        var bundle = NamespaceBundles.Even(ns, 4).Find(TopicName.Parse(topic));
        await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = cluster.AllServiceUrls });
        await using var producer = await SteadyProducer.StartAsync(client, topic, options.SteadyRate);
        var random = new Random(7);
        var rows = new List<string>();
        var gaps = new List<double>();
        var resumes = new List<double>();
        for (var trial = 1; trial <= options.UnloadTrials; trial++)
        {
            // Steady first: receipts flowing for 2 s.
            await producer.WaitForReceiptAfterAsync(Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(60), $"before unload {trial}");
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            var ownerBefore = await cluster.OwnerAsync(topic);
            var running = Enumerable.Range(0, cluster.BrokerCount).Where(cluster.IsRunning).ToArray();
            var asked = running[random.Next(running.Length)];
            var started = Stopwatch.GetTimestamp();
            await cluster.AdminPutAsync(asked, $"/admin/v2/namespaces/{ns}/{bundle.Range}/unload");
            var answered = Stopwatch.GetTimestamp();
            var resumed = await producer.WaitForReceiptAfterAsync(started, TimeSpan.FromSeconds(60), $"after unload {trial}");
            // The bundle is let go of by the time the PUT is answered: a message sent after that went to the next owner.
            var settled = await producer.WaitForReceiptAfterAsync(answered, TimeSpan.FromSeconds(60), $"after unload {trial} was answered");
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            var lastBefore = producer.ReceiptsBetween(started - 5 * Stopwatch.Frequency, started).DefaultIfEmpty(started).Max();
            var receipts = producer.ReceiptsBetween(lastBefore, settled + Stopwatch.Frequency / 2);
            var (gapFrom, gapTo) = receipts.Zip(receipts.Skip(1)).MaxBy(p => p.Second - p.First);
            var gap = Ms(gapFrom, gapTo);
            var ownerAfter = await cluster.OwnerAsync(topic);
            var resume = Ms(started, gapTo);
            gaps.Add(gap);
            resumes.Add(resume);
            rows.Add(Invariant($"| {trial} | broker {asked + 1} | {Ms(started, answered):F0} ms | {gap:F0} ms | {Ms(started, gapFrom):F0} ms | {resume:F0} ms | {Ms(started, resumed):F0} ms | broker {ownerBefore + 1} → broker {ownerAfter + 1} |"));
            Progress(Invariant($"unload {trial}: PUT {Ms(started, answered):F0} ms, longest receipt gap {gap:F0} ms (+{Ms(started, gapFrom):F0} to +{resume:F0} ms); owner {ownerBefore + 1} -> {ownerAfter + 1}"));
        }

        Console.WriteLine("### The pause of a bundle unload");
        Console.WriteLine();
        Console.WriteLine(Invariant($"One producer publishing {options.SteadyRate:F0} msg/s (100 B, unbatched) to one topic while its bundle is unloaded through a random broker's admin API. ")
            + "Longest gap: between two consecutive receipts, from the last receipt before the PUT to 0.5 s after the first receipt of a message sent after the PUT was answered; it starts at \"last receipt before it\" and ends at \"resumed\", both counted from the moment the PUT was sent. "
            + "First after PUT: the receipt of the first message handed to `SendAsync` after the PUT was sent (such a message may still go to the old owner before it lets go).");
        Console.WriteLine();
        Console.WriteLine("| trial | PUT sent to | PUT answered in | longest receipt gap | last receipt before it | resumed | first after PUT | owner |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        rows.ForEach(Console.WriteLine);
        gaps.Sort();
        resumes.Sort();
        Console.WriteLine(Invariant($"| **min / median / max** | | | {gaps[0]:F0} / {Percentile(gaps, 50):F0} / {gaps[^1]:F0} ms | | {resumes[0]:F0} / {Percentile(resumes, 50):F0} / {resumes[^1]:F0} ms | | |"));
        Console.WriteLine();
        if (producer.Errors > 0)
        {
            Console.WriteLine(Invariant($"Send errors: {producer.Errors} (last: {producer.LastError})."));
            Console.WriteLine();
        }
    }
}
