using System.Buffers;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Tiered.Client;
using Tiered.Client.Consumers;
using Tiered.V1;

namespace Tiered.Bench.Micro;

/// <summary>
/// The client's share of workload 5 (catch-up) and 4 (fan-out), per delivered entry of 100 messages of 1 KB:
/// decoding the Delivery as it arrives on the Consume stream, handing its messages to the application through
/// <see cref="Consumer.ReceiveAsync"/> one by one, and acknowledging them in one list (the request and its receipt).
/// No broker: the partition consumer has no stream, so nothing is sent; the receipt is fed back as the stream would.
/// Divide by 100 for a message's share.
/// </summary>
[MemoryDiagnoser]
public class ConsumePathBench
{
    private const int BatchMessages = 100;
    private const int MessageBytes = 1024;

    private readonly List<ReceivedMessage> _received = new(BatchMessages);
    private readonly ConsumeResponse _receipt = new() { AckReceipt = new AckReceipt() };
    private byte[] _delivery = [];
    private TieredClient _client = null!;
    private Consumer _consumer = null!;
    private PartitionConsumer _partition = null!;
    private long _nextEntry;
    private ulong _nextRequest;

    [GlobalSetup]
    public void Setup()
    {
        _client = new TieredClient("http://127.0.0.1:1");
        var subscribe = new Subscribe { Topic = "persistent://public/default/bench", Subscription = "s", ConsumerName = "c" };
        _consumer = new Consumer(_client, subscribe.Topic, subscribe.Subscription, 0);
        _partition = new PartitionConsumer(_client, subscribe, -1, 1000, _consumer.Queue, _consumer.OnPartitionFailed);
        _consumer.Attach([_partition]);
        var batch = new MessageBatch { FormatVersion = 1, ProducerName = "bench-producer", SequenceId = 1, PublishTimeMs = 1_700_000_000_000 };
        var payload = new byte[MessageBytes];
        Random.Shared.NextBytes(payload);
        for (var i = 0; i < BatchMessages; i++)
            batch.Messages.Add(new Message { Payload = ByteString.CopyFrom(payload) });
        _delivery = new ConsumeResponse
        {
            Delivery = new Delivery { MessageId = new V1.MessageId { LedgerId = 3, EntryId = 0, BatchSize = BatchMessages }, Batch = batch },
        }.ToByteArray();
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _client.DisposeAsync();

    /// <summary>One delivered entry, decoded from its bytes, then its 100 messages taken by ReceiveAsync.</summary>
    [Benchmark]
    public async Task DeliverAndReceive100()
    {
        Deliver();
        for (var i = 0; i < BatchMessages; i++)
            await _consumer.ReceiveAsync();
    }

    /// <summary>One delivered entry received, then acknowledged as one list of 100 and its receipt handled.</summary>
    [Benchmark]
    public async Task DeliverReceiveAndAck100()
    {
        Deliver();
        _received.Clear();
        for (var i = 0; i < BatchMessages; i++)
            _received.Add(await _consumer.ReceiveAsync());
        var acked = _consumer.AcknowledgeAsync(_received);
        _receipt.AckReceipt.RequestId = ++_nextRequest;
        _partition.OnResponse(_receipt);
        await acked;
    }

    private void Deliver()
    {
        // Each entry at a new position, as in a catch-up (acknowledged positions are remembered).
        var frame = ConsumeFrame.Decode(new ReadOnlySequence<byte>(_delivery));
        frame.EntryId = _nextEntry++;
        _partition.OnFrame(frame);
    }
}
