using System.Threading.Channels;
using Grpc.Core;
using Tiered.V1;

namespace Tiered.Client.Tests;

internal sealed partial class FakeBroker
{
    private readonly Dictionary<(string Topic, string Subscription), SubscriptionState> _subscriptions = [];
    private readonly List<CancellationTokenSource> _consumeStreams = [];
    private long _permitsGranted;
    private long _delivered;

    public List<Subscribe> Subscribes { get; } = [];

    public List<Ack> Acks { get; } = [];

    public int RedeliverRequests;

    /// <summary>When set, every AckReceipt carries this error.</summary>
    public string? AckError { get; set; }

    public Func<Subscribe, RpcException?>? RefuseSubscription { get; set; }

    /// <summary>Sent as ActiveConsumerChanged after Subscribed on a Failover subscription.</summary>
    public bool FailoverActive { get; set; } = true;

    public long PermitsGranted => Interlocked.Read(ref _permitsGranted);

    public long Delivered => Interlocked.Read(ref _delivered);

    public int SubscribeCount
    {
        get
        {
            lock (Subscribes)
                return Subscribes.Count;
        }
    }

    /// <summary>Fails every open consume stream with UNAVAILABLE, as a broker restart would.</summary>
    public void KillConsumeStreams()
    {
        lock (_consumeStreams)
        {
            foreach (var stream in _consumeStreams)
                stream.Cancel();
            _consumeStreams.Clear();
        }
    }

    public SubscriptionState Subscription(string topic, string subscription)
    {
        lock (_subscriptions)
        {
            if (!_subscriptions.TryGetValue((topic, subscription), out var state))
                _subscriptions[(topic, subscription)] = state = new SubscriptionState();
            return state;
        }
    }

    public override async Task Consume(IAsyncStreamReader<ConsumeRequest> requestStream, IServerStreamWriter<ConsumeResponse> responseStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext())
            return;
        var subscribe = requestStream.Current.Subscribe ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "Subscribe must come first"));
        lock (Subscribes)
            Subscribes.Add(subscribe);
        if (RefuseSubscription?.Invoke(subscribe) is { } refusal)
            throw refusal;
        var log = Topic(subscribe.Topic);
        var state = subscribe.Reader ? new SubscriptionState() : Subscription(subscribe.Topic, subscribe.Subscription);
        int start;
        lock (state)
        {
            state.Start ??= subscribe.InitialPosition == InitialPosition.Earliest ? 0 : log.Count;
            start = state.Start.Value;
        }
        if (subscribe.Reader && subscribe.StartMessageId is { } startId)
            start = (int)startId.EntryId + (subscribe.StartInclusive ? 0 : 1);

        using var killed = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        lock (_consumeStreams)
            _consumeStreams.Add(killed);
        var cancel = killed.Token;
        var writeLock = new SemaphoreSlim(1, 1);
        var wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        var stream = new ConsumeStream(start);
        await WriteAsync(new ConsumeResponse { Subscribed = new Subscribed { Topic = subscribe.Topic, Subscription = subscribe.Subscription, ConsumerName = subscribe.ConsumerName.Length > 0 ? subscribe.ConsumerName : "fake-consumer" } });
        if (subscribe.Type == V1.SubscriptionType.Failover)
            await WriteAsync(new ConsumeResponse { ActiveConsumerChanged = new ActiveConsumerChanged { IsActive = FailoverActive } });
        var deliveries = DeliverAsync();
        try
        {
            while (await requestStream.MoveNext(cancel))
            {
                var request = requestStream.Current;
                switch (request.RequestCase)
                {
                    case ConsumeRequest.RequestOneofCase.Flow:
                        Interlocked.Add(ref stream.Permits, request.Flow.Permits);
                        Interlocked.Add(ref _permitsGranted, request.Flow.Permits);
                        wake.Writer.TryWrite(true);
                        break;
                    case ConsumeRequest.RequestOneofCase.Ack:
                        lock (Acks)
                            Acks.Add(request.Ack);
                        if (AckError is null)
                            state.Apply(request.Ack);
                        await WriteAsync(new ConsumeResponse { AckReceipt = new AckReceipt { RequestId = request.Ack.RequestId, Error = AckError ?? "" } });
                        break;
                    case ConsumeRequest.RequestOneofCase.Redeliver:
                        Interlocked.Increment(ref RedeliverRequests);
                        Volatile.Write(ref stream.Rewind, true);
                        wake.Writer.TryWrite(true);
                        break;
                    default:
                        throw new RpcException(new Status(StatusCode.InvalidArgument, $"unexpected {request.RequestCase}"));
                }
            }
        }
        catch (Exception) when (killed.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "broker restarting"));
        }
        finally
        {
            await killed.CancelAsync();
            await deliveries;
            lock (_consumeStreams)
                _consumeStreams.Remove(killed);
        }

        async Task WriteAsync(ConsumeResponse response)
        {
            await writeLock.WaitAsync(cancel);
            try
            {
                await responseStream.WriteAsync(response, cancel);
            }
            finally
            {
                writeLock.Release();
            }
        }

        async Task DeliverAsync()
        {
            var position = stream.Start;
            try
            {
                while (!cancel.IsCancellationRequested)
                {
                    if (Volatile.Read(ref stream.Rewind))
                    {
                        Volatile.Write(ref stream.Rewind, false);
                        position = stream.Start;
                    }
                    var changed = log.Changed;
                    var entry = log.At(position);
                    if (entry is null)
                    {
                        // WaitToReadAsync does not take the signal, so an abandoned wait cannot swallow a later one.
                        await Task.WhenAny(changed, wake.Reader.WaitToReadAsync(cancel).AsTask());
                        wake.Reader.TryRead(out _);
                        continue;
                    }
                    var acked = subscribe.Reader ? [] : state.AckedIndexes(entry.EntryId, entry.Batch.Messages.Count);
                    var count = entry.Batch.Messages.Count - acked.Length;
                    if (count == 0)
                    {
                        position++;
                        continue;
                    }
                    if (Interlocked.Read(ref stream.Permits) < count)
                    {
                        await wake.Reader.WaitToReadAsync(cancel);
                        wake.Reader.TryRead(out _);
                        continue;
                    }
                    Interlocked.Add(ref stream.Permits, -count);
                    var delivery = new Delivery
                    {
                        MessageId = new V1.MessageId { LedgerId = LedgerId, EntryId = entry.EntryId, Partition = -1, BatchSize = entry.Batch.Messages.Count },
                        RedeliveryCount = subscribe.Reader ? 0 : state.CountDelivery(entry.EntryId),
                        Batch = entry.Batch,
                    };
                    delivery.AckedBatchIndexes.Add(acked);
                    await WriteAsync(new ConsumeResponse { Delivery = delivery });
                    Interlocked.Add(ref _delivered, count);
                    position++;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private sealed class ConsumeStream(int start)
    {
        public readonly int Start = start;
        public long Permits;
        public bool Rewind;
    }

    /// <summary>A durable subscription: where it started and which batch indexes are acknowledged.</summary>
    internal sealed class SubscriptionState
    {
        private readonly HashSet<(long Entry, int Index)> _acked = [];
        private readonly Dictionary<long, int> _deliveries = [];

        public int? Start { get; set; }

        public void Ack(long entryId, int batchIndex)
        {
            lock (this)
                _acked.Add((entryId, batchIndex));
        }

        public void Apply(Ack ack)
        {
            lock (this)
            {
                foreach (var id in ack.MessageIds)
                {
                    if (!ack.Cumulative)
                    {
                        _acked.Add((id.EntryId, id.BatchIndex));
                        continue;
                    }
                    for (var e = 0L; e < id.EntryId; e++)
                    {
                        for (var i = 0; i < 1000; i++)
                            _acked.Add((e, i));
                    }
                    for (var i = 0; i <= id.BatchIndex; i++)
                        _acked.Add((id.EntryId, i));
                }
            }
        }

        public bool IsAcked(long entryId, int batchIndex)
        {
            lock (this)
                return _acked.Contains((entryId, batchIndex));
        }

        public int[] AckedIndexes(long entryId, int batchSize)
        {
            lock (this)
            {
                var acked = new List<int>();
                for (var i = 0; i < batchSize; i++)
                {
                    if (_acked.Contains((entryId, i)))
                        acked.Add(i);
                }
                return [.. acked];
            }
        }

        public int CountDelivery(long entryId)
        {
            lock (this)
            {
                _deliveries.TryGetValue(entryId, out var before);
                _deliveries[entryId] = before + 1;
                return before;
            }
        }
    }
}
