using Tiered.Client;
using Tiered.Testing;

namespace Tiered.Bench;

/// <summary>
/// <c>tiered-bench dedup</c> (issue 14): publish throughput and latency with producer de-duplication off and on
/// (<c>--deduplication-enabled</c>), each standalone first checked to de-duplicate exactly when it should.
/// </summary>
public sealed class DedupToggle : Toggle
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(30);

    public override string Command => "dedup";

    public override string Issue => "issue 14";

    public override string Feature => "dedup";

    public override string Description =>
        "Publish throughput and latency of `tiered standalone` with producer de-duplication off and on in one run (issue 14): "
        + "the broker benchmark's 1 KB batched and 100 B unbatched phases, alternating off, on, off, on, each on a new standalone "
        + "and data directory, with the on ÷ off ratio per phase and the disk's limits measured in the same run.";

    public override string Setup => "`--deduplication-enabled false` then `true`";

    public override string CheckDescription =>
        "Each standalone was checked first to de-duplicate exactly when it should: a second producer with the name of a closed one continues after its sequence ids only with de-duplication on.";

    public override string[] StandaloneArgs(bool on) => ["--deduplication-enabled", on ? "true" : "false"];

    /// <summary>
    /// Proof that the standalone de-duplicates exactly when the report says so, through the client as a user
    /// would see it: a producer named N sends one message and closes, a second producer named N sends one more.
    /// With de-duplication on, the broker tells the second producer the highest sequence id it stored for N
    /// (ProducerOpened.last_sequence_id), so it continues after it (sequence ids 0, 1); with it off the broker
    /// keeps no table and the second producer starts again at 0.
    /// </summary>
    public override async Task CheckAsync(TieredClient client, Standalone standalone, bool on, CancellationToken cancellationToken)
    {
        const string topic = "persistent://public/default/bench-dedup-probe";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ProbeTimeout);
        await using var consumer = await client.SubscribeAsync(
            new ConsumerOptions(topic, "probe") { InitialPosition = SubscriptionInitialPosition.Earliest }, deadline.Token);
        for (var i = 0; i < 2; i++)
        {
            await using var producer = await client.CreateProducerAsync(new ProducerOptions(topic) { ProducerName = "bench-dedup-probe" }, deadline.Token);
            await producer.SendAsync(new byte[] { (byte)i }, cancellationToken: deadline.Token);
        }
        ReceivedMessage second;
        try
        {
            await consumer.ReceiveAsync(deadline.Token);
            second = await consumer.ReceiveAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The probe's consumer of {topic} did not receive its 2 messages within {ProbeTimeout.TotalSeconds:F0} s.");
        }
        var expected = on ? 1UL : 0UL;
        if (second.SequenceId != expected)
        {
            throw new InvalidOperationException(
                $"A second producer with the same name on {topic} sent sequence id {second.SequenceId} where {expected} was expected with --deduplication-enabled {(on ? "true" : "false")}: "
                + "the run would not compare what it says. Check that `tiered standalone` takes the flag and that the broker answers ProducerOpened.last_sequence_id.");
        }
        Console.Error.WriteLine($"  checked: de-duplication is {(on ? "on" : "off")} (a second producer with the same name continued at sequence id {second.SequenceId})");
    }
}
