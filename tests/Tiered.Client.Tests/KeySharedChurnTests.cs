using System.Text;
using Tiered.Testing;

namespace Tiered.Client.Tests;

/// <summary>
/// The issue's Key_Shared test: 100,000 keyed messages over 1,000 keys, consumed by consumers that join and
/// leave during the run (four at most at once), each leaving with messages unacknowledged. Per key, every
/// message is acknowledged exactly once, none is lost, and none is delivered while an earlier message of its
/// key is unacknowledged at another consumer; the run ends within its deadline (no consumer waits forever).
/// </summary>
public sealed class KeySharedChurnTests : RealBrokerTest
{
    private const int Keys = 1000;
    private const int PerKey = 100;
    private const int Total = Keys * PerKey;
    private sealed class Ledger
    {
        public readonly object Gate = new();
        public readonly bool[,] Acked = new bool[Keys, PerKey];
        public readonly int[,] Holder = new int[Keys, PerKey];
        public int AckedCount;
        public int DuplicatesAfterAck;
        public int OutOfOrder;
        public int Redelivered;
        public readonly List<string> Problems = [];

        public void Received(int session, int key, int seq)
        {
            lock (Gate)
            {
                if (Acked[key, seq])
                {
                    DuplicatesAfterAck++;
                    Note($"session {session} got k{key}:{seq} after it was acknowledged");
                    return;
                }
                if (Holder[key, seq] != 0)
                    Redelivered++;
                for (var earlier = 0; earlier < seq; earlier++)
                {
                    if (!Acked[key, earlier] && Holder[key, earlier] != session)
                    {
                        OutOfOrder++;
                        Note($"session {session} got k{key}:{seq} while k{key}:{earlier} was unacknowledged (held by session {Holder[key, earlier]})");
                        break;
                    }
                }
                Holder[key, seq] = session;
            }
        }

        /// <summary>Recorded before the acknowledgement is sent: the broker cannot have it sooner.</summary>
        public void Acknowledging(IEnumerable<(int Key, int Seq)> messages)
        {
            lock (Gate)
            {
                foreach (var (key, seq) in messages)
                {
                    if (!Acked[key, seq])
                    {
                        Acked[key, seq] = true;
                        AckedCount++;
                    }
                }
            }
        }

        private void Note(string problem)
        {
            if (Problems.Count < 10)
                Problems.Add(problem);
        }
    }

    private static (int Key, int Seq) Parse(ReceivedMessage message)
    {
        var text = Encoding.UTF8.GetString(message.Payload.Span);
        var colon = text.IndexOf(':');
        return (int.Parse(text.AsSpan(0, colon)), int.Parse(text.AsSpan(colon + 1)));
    }

    private async Task ConsumeAsync(string topic, int session, Ledger ledger, CancellationToken leave)
    {
        await using var consumer = await Client.SubscribeAsync(new ConsumerOptions(topic, "s")
        {
            Type = SubscriptionType.KeyShared,
            InitialPosition = SubscriptionInitialPosition.Earliest,
            ConsumerName = $"session-{session}",
            ReceiverQueueSize = 200,
        });
        var unacked = new List<ReceivedMessage>();
        try
        {
            // ReceiveAsync answers at once while messages are queued: the leave is checked on every message received.
            while (true)
            {
                ReceivedMessage message;
                using (var idle = CancellationTokenSource.CreateLinkedTokenSource(leave))
                {
                    idle.CancelAfter(TimeSpan.FromMilliseconds(200));
                    try
                    {
                        message = await consumer.ReceiveAsync(idle.Token);
                    }
                    catch (OperationCanceledException) when (!leave.IsCancellationRequested)
                    {
                        // Nothing came for a while: acknowledge what is held, as an application done with its work would.
                        await AcknowledgeAsync();
                        continue;
                    }
                }
                var (key, seq) = Parse(message);
                ledger.Received(session, key, seq);
                unacked.Add(message);
                if (leave.IsCancellationRequested)
                    break; // Leaves holding what it received since its last acknowledgement (and what its queue held).
                if (unacked.Count >= 20)
                    await AcknowledgeAsync();
            }
        }
        catch (OperationCanceledException) when (leave.IsCancellationRequested)
        {
            // Leaves with up to 19 messages unacknowledged (and what its queue held): they go to the keys' new owners.
        }

        async Task AcknowledgeAsync()
        {
            if (unacked.Count == 0)
                return;
            ledger.Acknowledging(unacked.Select(Parse));
            await consumer.AcknowledgeAsync(unacked, CancellationToken.None);
            unacked.Clear();
        }
    }

    [Fact]
    public async Task Keyed_messages_reach_consumers_joining_and_leaving_in_order_and_exactly_once_after_acknowledgement()
    {
        var topic = $"persistent://public/default/ks-churn-{Guid.NewGuid():N}";
        var ledger = new Ledger();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var sessions = new Dictionary<int, (CancellationTokenSource Leave, Task Run)>();
        void Join(int session)
        {
            var leave = new CancellationTokenSource();
            sessions[session] = (leave, Task.Run(() => ConsumeAsync(topic, session, ledger, leave.Token)));
        }
        async Task LeaveAsync(int session)
        {
            await sessions[session].Leave.CancelAsync();
            await sessions[session].Run;
        }
        async Task UntilAckedAsync(int count)
        {
            while (Volatile.Read(ref ledger.AckedCount) < count)
                await Task.Delay(20, deadline.Token);
        }

        Join(1);
        Join(2);
        var producing = Task.Run(async () =>
        {
            await using var producer = await Client.CreateProducerAsync(new ProducerOptions(topic));
            var sends = new List<Task<MessageId>>(Total);
            for (var seq = 0; seq < PerKey; seq++)
            {
                // At most 10,000 messages ahead of the acknowledgements, so that the joins and leaves fall in the middle of the run.
                while (seq * Keys - Volatile.Read(ref ledger.AckedCount) > 10_000)
                    await Task.Delay(5, deadline.Token);
                for (var key = 0; key < Keys; key++)
                    sends.Add(producer.SendAsync(Encoding.UTF8.GetBytes($"{key}:{seq}"), $"k{key}").AsTask());
            }
            await Task.WhenAll(sends);
        });
        try
        {
            await UntilAckedAsync(15_000);
            Join(3);
            await UntilAckedAsync(30_000);
            Join(4);
            await UntilAckedAsync(45_000);
            await LeaveAsync(1);
            await UntilAckedAsync(60_000);
            await LeaveAsync(2);
            Join(5);
            await UntilAckedAsync(75_000);
            await LeaveAsync(3);
            Join(6);
            await UntilAckedAsync(Total);
            await producing.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            var stats = await Broker.Server.Admin.GetStatsAsync(Tiered.Broker.Naming.TopicName.Parse(topic), CancellationToken.None);
            var subscription = stats.Subscriptions["s"];
            var consumers = string.Join(", ", subscription.Consumers.Select(c => $"{c.ConsumerName}: permits {c.AvailablePermits}, unacked {c.UnackedMessages}"));
            Assert.Fail($"Stuck: {ledger.AckedCount} of {Total} acknowledged within the deadline; the broker has {subscription.WaitingEntriesCount} entries waiting, "
                + $"{subscription.DrainingHashesCount} hashes draining, backlog {subscription.MsgBacklog}; {consumers}. {string.Join("; ", ledger.Problems)}");
        }
        finally
        {
            foreach (var (leave, _) in sessions.Values)
                await leave.CancelAsync();
            await Task.WhenAll(sessions.Values.Select(s => s.Run));
        }

        lock (ledger.Gate)
        {
            Assert.True(ledger.Problems.Count == 0, string.Join("; ", ledger.Problems));
            Assert.Equal(0, ledger.DuplicatesAfterAck);
            Assert.Equal(0, ledger.OutOfOrder);
            Assert.Equal(Total, ledger.AckedCount);
            for (var key = 0; key < Keys; key++)
            {
                for (var seq = 0; seq < PerKey; seq++)
                    Assert.True(ledger.Acked[key, seq], $"k{key}:{seq} was lost");
            }
            Assert.True(ledger.Redelivered > 0, "no consumer left with messages unacknowledged: the hand-over was not exercised");
        }
    }
}
