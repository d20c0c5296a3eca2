using System.Diagnostics;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Broker;
using Tiered.ManagedLedgers;
using Tiered.Testing;
using Tiered.V1;
using Xunit;
using Xunit.Abstractions;

namespace Tiered.Tests.Cluster;

/// <summary>
/// `tiered bookie` processes killed with SIGKILL, one after another, while producers publish
/// through a broker (in this process) with E=3, Qw=2, Qa=2 on three bookies: every ledger uses
/// every bookie, so each kill fails the writers, and new ledgers are placed on the dead bookie
/// (still registered until its session expires) until it is back. This checks the end-to-end
/// property (publishing resumes, nothing acknowledged is lost); the writer's start-up race that
/// once wedged publishing has a narrow window and is pinned down deterministically by the ledger
/// client's DeadBookieTests.
/// </summary>
public sealed class BookieKillUnderLoadTests(ITestOutputHelper output)
{
    private const int Rounds = 5;
    private const int Producers = 3;

    /// <summary>
    /// How long every producer may still go without receipts once the killed bookie is back
    /// (restarted and registered). It covers the managed ledger's longest wait between failing
    /// new ledgers (2 s), closing the failed ledger and creating a new one, and the producer's
    /// retry pace, with room for a loaded machine. Before the fix the stall never ended. (With
    /// E=3 on three bookies nothing can be stored while one is down, so the time the restart
    /// itself takes, 2–15 s on a loaded test machine, is reported but not bounded.)
    /// </summary>
    private static readonly TimeSpan ResumeBound = TimeSpan.FromSeconds(10);

    /// <summary>A send without any answer for this long is a hang.</summary>
    private static readonly TimeSpan StallBound = TimeSpan.FromSeconds(45);

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Publishing_resumes_after_every_kill_9_of_a_bookie_and_no_acknowledged_message_is_lost()
    {
        await using var metadata = await MetadataCluster.StartAsync(1);
        await metadata.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var bookieIds = Enumerable.Range(0, 3).Select(_ => $"127.0.0.1:{TieredProcess.FreePort()}").ToArray();
        var bookies = new TieredProcess?[bookieIds.Length];
        try
        {
            await Task.WhenAll(bookieIds.Select((_, i) => StartBookieAsync(i)));
            await metadata.Client.PutAsync("/admin/tenants/public", """{"adminRoles":[],"allowedClusters":["standalone"]}"""u8.ToArray());
            await metadata.Client.PutAsync("/admin/policies/public/default", """{"replication_clusters":["standalone"]}"""u8.ToArray());
            var options = new BrokerOptions
            {
                GrpcListen = $"127.0.0.1:{TieredProcess.FreePort()}",
                HttpListen = $"127.0.0.1:{TieredProcess.FreePort()}",
                // Small ledgers: rollovers keep creating ledgers while a bookie is down.
                ManagedLedger = new ManagedLedgerOptions { EnsembleSize = 3, WriteQuorum = 2, AckQuorum = 2, MaxEntriesPerLedger = 300 },
            };
            await using var broker = await BrokerServer.StartAsync(options, metadata.Client, NullLoggerFactory.Instance);
            using var channel = GrpcChannel.ForAddress($"http://{options.GrpcListen}");
            var client = new Messaging.MessagingClient(channel);

            // A subscription from the start, so that retention keeps every message until it is read back.
            var checkers = new List<RawConsumer>();
            for (var p = 0; p < Producers; p++)
            {
                checkers.Add(await RawConsumer.SubscribeAsync(client,
                    new Subscribe { Topic = Topic(p), Subscription = "check", InitialPosition = Tiered.V1.InitialPosition.Earliest }, permits: 0));
            }
            using var stop = new CancellationTokenSource();
            var producers = Enumerable.Range(0, Producers).Select(p => new LoadProducer(client, Topic(p), p)).ToArray();
            var running = producers.Select(p => Task.Run(() => p.RunAsync(stop.Token))).ToArray();
            var stalls = new List<TimeSpan>();
            for (var round = 0; round < Rounds; round++)
            {
                // Load is flowing before each kill.
                await WaitForReceiptsAsync(producers, 50, TimeSpan.FromSeconds(30), $"round {round}: before the kill");
                var victim = round % bookieIds.Length;
                var killedAt = Stopwatch.GetTimestamp();
                bookies[victim]!.Kill();
                bookies[victim]!.Dispose();
                bookies[victim] = null;
                await StartBookieAsync(victim);
                var restarted = Stopwatch.GetElapsedTime(killedAt);
                await WaitForReceiptsAsync(producers, 20, ResumeBound, $"round {round}: after bookie {bookieIds[victim]} was killed and restarted");
                var stall = Stopwatch.GetElapsedTime(killedAt);
                stalls.Add(stall - restarted);
                output.WriteLine($"round {round}: killed {bookieIds[victim]}, restarted after {restarted.TotalSeconds:0.0} s, every producer publishing again after {stall.TotalSeconds:0.0} s");
            }
            await stop.CancelAsync();
            await Task.WhenAll(running).WaitAsync(StallBound);
            Assert.All(producers, p => Assert.Null(p.Hung));

            // Read everything back and count.
            var lostTotal = 0;
            foreach (var (producer, checker) in producers.Zip(checkers))
            {
                var read = await ReadAllAsync(checker, producer.Acknowledged.Count);
                var distinct = read.ToHashSet();
                var lost = producer.Acknowledged.Where(m => !distinct.Contains(m)).ToList();
                lostTotal += lost.Count;
                output.WriteLine($"{producer.Topic}: {producer.Acknowledged.Count} acknowledged, {producer.Errors} send errors (resent), " +
                    $"{read.Count} read back, {distinct.Count} distinct, {read.Count - distinct.Count} duplicated, {lost.Count} lost" +
                    (lost.Count > 0 ? $" (first: {string.Join(", ", lost.Take(5))})" : ""));
                Assert.True(producer.Acknowledged.Count > Rounds * 20);
            }
            Assert.Equal(0, lostTotal);
            Assert.All(stalls, s => Assert.True(s < ResumeBound));
        }
        finally
        {
            foreach (var bookie in bookies)
                bookie?.Dispose();
        }

        async Task StartBookieAsync(int index)
        {
            bookies[index] = await TieredProcess.StartAsync("listening on", StartTimeout,
                "bookie", "--metadata", string.Join(',', metadata.Addresses), "--listen", bookieIds[index],
                "--data-dir", Path.Combine(metadata.DataRoot, $"bookie-{index}"), "--no-auto-recovery", "--log-level", "Warning");
        }
    }

    /// <summary>Waits until every producer has at least <paramref name="receipts"/> more receipts than now.</summary>
    private static async Task WaitForReceiptsAsync(LoadProducer[] producers, int receipts, TimeSpan within, string when)
    {
        var targets = producers.Select(p => p.Receipts + receipts).ToArray();
        var deadline = Stopwatch.GetTimestamp() + (long)(within.TotalSeconds * Stopwatch.Frequency);
        while (producers.Where((p, i) => p.Receipts < targets[i]).ToList() is { Count: > 0 } waiting)
        {
            if (waiting.FirstOrDefault(p => p.Hung is not null) is { } hung)
                Assert.Fail($"{when}: {hung.Topic}: {hung.Hung}");
            if (Stopwatch.GetTimestamp() > deadline)
                Assert.Fail($"{when}: {string.Join(", ", waiting.Select(p => p.Topic))} got no receipt for {within.TotalSeconds:0.0} s (last error: {waiting[0].LastError ?? "none"}).");
            await Task.Delay(20);
        }
    }

    private static string Topic(int producer) => $"persistent://public/default/kill-{producer}";

    private static async Task<List<string>> ReadAllAsync(RawConsumer consumer, int expected)
    {
        await using var _ = consumer;
        await consumer.FlowAsync(1_000_000);
        var read = new List<string>();
        var distinct = new HashSet<string>();
        // Past the expected count, a short quiet period shows nothing more (duplicates) is coming.
        while (await consumer.ReceiveAsync(distinct.Count < expected ? TimeSpan.FromSeconds(30) : TimeSpan.FromMilliseconds(500)) is { } message)
        {
            read.Add(message.Payload);
            distinct.Add(message.Payload);
        }
        return read;
    }

    /// <summary>
    /// Publishes batches of 10 one at a time; a batch refused with an error is sent again unchanged, a
    /// broken stream is reopened (under a new producer name, so a batch resent there may be stored twice). A batch without any answer within the
    /// stall bound is a hang: recorded, and the producer stops.
    /// </summary>
    private sealed class LoadProducer(Messaging.MessagingClient client, string topic, int id)
    {
        private int _receipts;
        private int _errors;

        public string Topic => topic;

        public List<string> Acknowledged { get; } = [];

        public int Receipts => Volatile.Read(ref _receipts);

        public int Errors => Volatile.Read(ref _errors);

        public string? LastError { get; private set; }

        public string? Hung { get; private set; }

        public async Task RunAsync(CancellationToken stop)
        {
            RawProducer? producer = null;
            var next = 0;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    var payloads = Enumerable.Range(next, 10).Select(n => $"p{id}-m{n}").ToList();
                    // Sent again unchanged (same sequence ids) on the same stream, numbered anew on a new one.
                    MessageBatch? sent = null;
                    while (!stop.IsCancellationRequested)
                    {
                        try
                        {
                            producer ??= await RawProducer.OpenAsync(client, topic).WaitAsync(StallBound);
                            ProduceResponse answer;
                            if (sent is null)
                            {
                                sent = RawProducer.Batch(payloads);
                                answer = (await producer.SendAllAsync([sent], window: 1).WaitAsync(StallBound))[0];
                            }
                            else
                            {
                                answer = await producer.SendAsIsAsync(sent).WaitAsync(StallBound);
                            }
                            if (answer.ResponseCase == ProduceResponse.ResponseOneofCase.Receipt)
                            {
                                Acknowledged.AddRange(payloads);
                                Interlocked.Increment(ref _receipts);
                                break;
                            }
                            LastError = answer.Error.Message;
                        }
                        catch (TimeoutException)
                        {
                            Hung = $"no answer for {StallBound.TotalSeconds:0} s after {Receipts} receipts (last error: {LastError ?? "none"})";
                            return;
                        }
                        catch (Exception e) when (e is Grpc.Core.RpcException or InvalidOperationException)
                        {
                            LastError = e.Message;
                            producer = null; // the stream broke: open a new one
                            sent = null;
                        }
                        Interlocked.Increment(ref _errors);
                        await Task.Delay(20, CancellationToken.None); // the producer's pace between retries
                    }
                    next += 10;
                }
            }
            finally
            {
                if (producer is not null && Hung is null)
                {
                    try
                    {
                        await producer.DisposeAsync().AsTask().WaitAsync(StallBound);
                    }
                    catch (Exception e) when (e is Grpc.Core.RpcException or InvalidOperationException or TimeoutException)
                    {
                    }
                }
            }
        }
    }
}
