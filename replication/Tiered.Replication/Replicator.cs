using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Tiered.Broker.Entries;
using Tiered.Broker.Metadata;
using Tiered.Broker.Replication;
using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;
using Tiered.V1;
using InitialPosition = Tiered.ManagedLedgers.InitialPosition;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Replication;

/// <summary>
/// Replicates one topic to one remote cluster; run by the topic's owner. A durable cursor
/// (<c>tiered.repl.{remote}</c>, from the earliest retained message) reads the local log; entries that carry
/// <c>replicated_from</c> came from another cluster and are skipped (no loops); the others are published, unchanged
/// but for <c>replicated_from</c> = this cluster, to the remote owner of the same topic on a replicator stream, which
/// stores them de-duplicated by (origin cluster, producer name, sequence id). The cursor moves only past what the
/// remote acknowledged, in order; a broken stream or a failed batch rewinds it to its mark-delete position and
/// everything after is sent again (the remote drops what it stored already), so nothing is skipped and nothing is
/// stored twice. A batch the remote refuses for good stops this replicator, with the error in the topic's stats.
/// A partition of a partitioned topic is replicated to the same partition of the remote's partitioned topic, which
/// each stream first creates or grows to this cluster's count (<see cref="RemotePartitions"/>).
/// </summary>
public sealed partial class Replicator : IReplicator
{
    /// <summary>The replicator cursors' prefix (a system cursor: never a subscription).</summary>
    public const string CursorPrefix = Topic.ReplicatorCursorPrefix;

    /// <summary>Batches sent and not yet acknowledged by the remote.</summary>
    internal const int Window = 1000;

    private const int ReadBatch = 100;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    private readonly Topic _topic;
    private readonly ManagedCursor _cursor;
    private readonly string _local;
    private readonly PolicyStore _policies;
    private readonly ReplicationChannels _channels;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly RateMeter _rates;
    private Task _run = Task.CompletedTask;
    private long _messagesOut;
    private long _bytesOut;
    private long _oldestInFlightPublishMs;
    private long _lastReceiptAt;
    private readonly long _startedAtMs;
    private int _remotePartitions;

    private Replicator(Topic topic, ManagedCursor cursor, string remote, string local, PolicyStore policies, ReplicationChannels channels, ILogger logger)
    {
        (_topic, _cursor, Remote, _local, _policies, _channels, _logger) = (topic, cursor, remote, local, policies, channels, logger);
        _rates = new RateMeter(topic.Time);
        _startedAtMs = topic.Time.GetUtcNow().ToUnixTimeMilliseconds();
    }

    public string Remote { get; }

    /// <summary>Whether a stream to the remote owner is open.</summary>
    public bool Connected { get; private set; }

    /// <summary>Why the last attempt failed (null while all is well); for a permanent refusal, why replication stopped.</summary>
    public string? LastError { get; private set; }

    /// <summary>The replicator gave up on this topic (the remote refused a batch for good).</summary>
    public bool Stopped { get; private set; }

    /// <summary>Entries not yet acknowledged by the remote (Pulsar's replicationBacklog counts these).</summary>
    public long Backlog => _cursor.Backlog;

    public long MessagesOut => Interlocked.Read(ref _messagesOut);

    public long BytesOut => Interlocked.Read(ref _bytesOut);

    public Rates SampleRates() => _rates.Sample(new RateCounters(MessagesOut, BytesOut));

    /// <summary>
    /// How old the oldest message not yet acknowledged by the remote is, in seconds (0 when none is pending): its
    /// publish time while it is in flight; else, at least, the time since the last receipt or the replicator's start.
    /// </summary>
    public double DelaySeconds
    {
        get
        {
            if (Backlog == 0)
                return 0;
            var now = _topic.Time.GetUtcNow().ToUnixTimeMilliseconds();
            var oldest = Interlocked.Read(ref _oldestInFlightPublishMs);
            // Nothing in flight (the remote is down): at least as old as the last receipt, or as this replicator.
            var since = oldest > 0 ? oldest : Interlocked.Read(ref _lastReceiptAt) is > 0 and var receipt ? receipt : _startedAtMs;
            return Math.Max(0, now - since) / 1000.0;
        }
    }

    /// <summary>Opens (or creates, at the earliest retained message) the cursor for <paramref name="remote"/> and starts replicating.</summary>
    internal static async Task<Replicator> StartAsync(Topic topic, string remote, string local, PolicyStore policies, ReplicationChannels channels,
        ILogger logger, CancellationToken cancellationToken)
    {
        var cursor = await topic.Ledger.OpenCursorAsync(CursorPrefix + remote, InitialPosition.Earliest, cancellationToken).ConfigureAwait(false);
        // The replicator reads like a consumer: while it keeps up, what producers add is cached for it.
        cursor.SetActive();
        var replicator = new Replicator(topic, cursor, remote, local, policies, channels, logger);
        replicator._run = Task.Run(replicator.RunAsync);
        return replicator;
    }

    private async Task RunAsync()
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await ReplicateAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (RefusedException e)
            {
                (Connected, Stopped, LastError) = (false, true, e.Message);
                LogStopped(_logger, _topic.Name.ToString(), Remote, e.Message);
                return;
            }
            catch (Exception e)
            {
                (Connected, LastError) = (false, e.Message);
                LogRetrying(_logger, _topic.Name.ToString(), Remote, (long)backoff.TotalMilliseconds, e.Message);
            }
            try
            {
                await Task.Delay(backoff, _topic.Time, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
        }
        Connected = false;
    }

    /// <summary>One stream to the remote owner: from the cursor's mark-delete position on, until it fails.</summary>
    private async Task ReplicateAsync(CancellationToken cancellationToken)
    {
        await EnsureRemotePartitionsAsync(cancellationToken).ConfigureAwait(false);
        var owner = await LookupAsync(cancellationToken).ConfigureAwait(false);
        using var streamStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The broker's wire types: the stored entry goes out as the bytes it is, not decoded and encoded again.
        using var call = _channels.Invoker(owner).AsyncDuplexStreamingCall(Tiered.Broker.Service.MessagingMethods.Produce, null, new CallOptions(cancellationToken: streamStop.Token));
        await call.RequestStream.WriteAsync(new Wire.ProduceRequest
        {
            Open = new OpenProducer { Topic = _topic.Name.ToString(), ProducerName = CursorPrefix + _local, ReplicatedFrom = _local },
        }, cancellationToken).ConfigureAwait(false);
        if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false) || call.ResponseStream.Current.ResponseCase != ProduceResponse.ResponseOneofCase.Opened)
            throw new InvalidOperationException($"The broker at {owner} did not open the replicator's stream.");
        (Connected, LastError) = (true, null);
        LogConnected(_logger, _topic.Name.ToString(), Remote, owner);

        // Everything after the last acknowledged entry goes again: the remote drops what it stored already.
        _cursor.Rewind();
        var window = new SemaphoreSlim(Window, Window);
        var inFlight = new InFlight();
        var receiving = ReceiveAsync(call.ResponseStream, inFlight, window, cancellationToken);
        // When the receipts stop (the stream failed, a batch was refused), the sending stops too.
        _ = receiving.ContinueWith(_ => streamStop.Cancel(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        var sending = streamStop.Token;
        try
        {
            ulong sequence = 0;
            var skipped = Task.CompletedTask;
            while (true)
            {
                var entries = await _cursor.ReadEntriesAsync(ReadBatch, sending).ConfigureAwait(false);
                if (entries.Count == 0)
                {
                    await _cursor.WaitForEntriesAsync(sending).ConfigureAwait(false);
                    continue;
                }
                if (skipped.IsFaulted)
                    await skipped.ConfigureAwait(false);
                foreach (var entry in entries)
                {
                    if (!BatchHeader.TryRead(entry.Data.Span, out var header, out _) || header.ReplicatedFrom.End.Value > header.ReplicatedFrom.Start.Value)
                    {
                        // From another cluster (or not a batch): not sent back. Acknowledged with the receipt before it
                        // or, when nothing awaits a receipt, at once (so that the backlog does not keep it).
                        if (!inFlight.TryAddSkipped(entry.Position))
                            skipped = _cursor.AckCumulativeAsync(new AckPosition(entry.Position), CancellationToken.None).AsTask();
                        continue;
                    }
                    await window.WaitAsync(sending).ConfigureAwait(false);
                    var batch = BatchHeader.Stamped(entry.Data.Span, publishTimeMs: null, producerName: null, replicatedFrom: _local);
                    sequence++;
                    Interlocked.CompareExchange(ref _oldestInFlightPublishMs, header.PublishTimeMs, 0);
                    inFlight.AddSent(new Sent(sequence, entry.Position, header.MessageCount, batch.Length, header.PublishTimeMs));
                    await call.RequestStream.WriteAsync(new Wire.ProduceRequest
                    {
                        Send = new Wire.SendBatch { SequenceId = sequence, Batch = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(batch) },
                    }, sending).ConfigureAwait(false);
                }
            }
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested && receiving.IsCompleted)
        {
            // The receipts stopped first: their reason is the one to report (below).
        }
        finally
        {
            await streamStop.CancelAsync().ConfigureAwait(false);
        }
        await receiving.ConfigureAwait(false);
    }

    /// <summary>Receipts come in the order sent: each moves the cursor past its entry and the skipped ones before it.</summary>
    private async Task ReceiveAsync(IAsyncStreamReader<ProduceResponse> responses, InFlight inFlight, SemaphoreSlim window, CancellationToken cancellationToken)
    {
        await Task.Yield();
        // Every acknowledgement joins the cursor's next store (group commit): the store in flight is not awaited per
        // receipt, only checked, so a failed store ends the stream (and everything after the cursor is sent again).
        Task stored = Task.CompletedTask;
        while (await responses.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var response = responses.Current;
            var sequence = response.ResponseCase == ProduceResponse.ResponseOneofCase.Receipt ? response.Receipt.SequenceId : response.Error.SequenceId;
            var head = inFlight.Answered(sequence, out var acked, out var oldestPublishMs);
            if (response.ResponseCase == ProduceResponse.ResponseOneofCase.Error)
            {
                var error = response.Error;
                if (error.Code == ErrorCode.InvalidMessage)
                    throw new RefusedException($"Cluster {Remote} refused the entry {head.Position} for good: {error.Message}");
                // Not stored there: rewind and send it (and what followed) again.
                throw new InvalidOperationException($"Cluster {Remote} did not store the entry {head.Position} ({error.Code}): {error.Message}");
            }
            window.Release();
            Interlocked.Add(ref _messagesOut, head.Messages);
            Interlocked.Add(ref _bytesOut, head.Bytes);
            Interlocked.Exchange(ref _lastReceiptAt, _topic.Time.GetUtcNow().ToUnixTimeMilliseconds());
            Interlocked.Exchange(ref _oldestInFlightPublishMs, oldestPublishMs);
            if (stored.IsFaulted)
                await stored.ConfigureAwait(false);
            stored = _cursor.AckCumulativeAsync(new AckPosition(acked), CancellationToken.None).AsTask();
        }
        await stored.ConfigureAwait(false);
        throw new InvalidOperationException($"The broker of cluster {Remote} ended the replicator's stream.");
    }

    /// <summary>
    /// For a partition of a partitioned topic: the remote cluster's partitioned topic must have at least this cluster's
    /// partitions before anything is sent (else the remote would store the partition as a lone topic). Checked at each
    /// stream's start, through the remote's admin API (<see cref="RemotePartitions"/>); a failure is this attempt's
    /// error, retried with the stream's backoff. A partition added here later gets a replicator of its own, whose start
    /// grows the remote's count.
    /// </summary>
    private async Task EnsureRemotePartitionsAsync(CancellationToken cancellationToken)
    {
        var name = _topic.Name;
        if (name.PartitionIndex < 0)
            return;
        var local = await _policies.GetPartitionsAsync(name.PartitionedTopic, cancellationToken).ConfigureAwait(false);
        if (local == 0)
            return; // A lone topic whose name only looks like a partition's.
        // This partition exists, so there are at least index + 1 (the cached count may not have caught up yet).
        var partitions = Math.Max(local, name.PartitionIndex + 1);
        var cluster = await _policies.GetClusterAsync(Remote, cancellationToken).ConfigureAwait(false);
        if (cluster?.ServiceUrl is not { Length: > 0 } serviceUrl)
            throw new InvalidOperationException($"Cluster {Remote} is registered here without a serviceUrl (its admin API), which replicating the partitioned topic " +
                $"{name.PartitionedTopic} needs to create it there: tiered admin clusters update {Remote} --url http://…");
        var remote = await RemotePartitions.EnsureAsync(_channels.Admin, Remote, serviceUrl, name.PartitionedTopic, partitions, cancellationToken).ConfigureAwait(false);
        if (remote != _remotePartitions)
            LogRemotePartitions(_logger, name.PartitionedTopic.ToString(), Remote, remote, partitions);
        _remotePartitions = remote;
    }

    /// <summary>The remote cluster's owner of the topic, asked of the broker service URL it is registered with.</summary>
    private async Task<string> LookupAsync(CancellationToken cancellationToken)
    {
        var cluster = await _policies.GetClusterAsync(Remote, cancellationToken).ConfigureAwait(false);
        if (cluster?.BrokerServiceUrl is not { Length: > 0 } serviceUrl)
            throw new InvalidOperationException($"Cluster {Remote} is not registered here with a brokerServiceUrl (PUT /admin/v2/clusters/{Remote}).");
        var lookup = await new Messaging.MessagingClient(_channels.Invoker(serviceUrl))
            .LookupAsync(new LookupRequest { Topic = _topic.Name.ToString() }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return lookup.BrokerUrl is { Length: > 0 } owner ? owner : serviceUrl;
    }

    /// <summary>Stops replicating (the topic unloads); the cursor stays for the next owner.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _cursor.SetInactive();
        _stop.Dispose();
    }

    /// <summary>An entry in flight (<see cref="Sequence"/> 0: skipped, acknowledged with the receipt before it).</summary>
    private readonly record struct Sent(ulong Sequence, Position Position, int Messages, long Bytes, long PublishTimeMs);

    /// <summary>
    /// The entries of one stream not answered yet, in order: those sent and the skipped ones between them. One lock
    /// for the sender and the receiver, so that a skipped entry either waits for a receipt still to come or is
    /// acknowledged at once, never left behind the last receipt.
    /// </summary>
    private sealed class InFlight
    {
        private readonly Queue<Sent> _entries = new();
        private int _sent;

        public void AddSent(Sent sent)
        {
            lock (_entries)
            {
                _entries.Enqueue(sent);
                _sent++;
            }
        }

        /// <summary>Queues a skipped entry behind the batches in flight; false when none is: acknowledge it now.</summary>
        public bool TryAddSkipped(Position position)
        {
            lock (_entries)
            {
                if (_sent == 0)
                    return false;
                _entries.Enqueue(new Sent(0, position, 0, 0, 0));
                return true;
            }
        }

        /// <summary>
        /// Takes the answered batch (the oldest in flight) and the skipped entries right behind it: <paramref name="acked"/>
        /// is the last of them, <paramref name="oldestPublishMs"/> the publish time of the next batch in flight (0: none).
        /// </summary>
        public Sent Answered(ulong sequence, out Position acked, out long oldestPublishMs)
        {
            lock (_entries)
            {
                if (!_entries.TryDequeue(out var head) || head.Sequence == 0)
                    throw new InvalidOperationException($"The remote answered batch {sequence}, which was not sent.");
                if (head.Sequence != sequence)
                    throw new InvalidOperationException($"The remote answered batch {sequence} while {head.Sequence} was expected.");
                _sent--;
                acked = head.Position;
                while (_entries.TryPeek(out var skipped) && skipped.Sequence == 0)
                    acked = _entries.Dequeue().Position;
                oldestPublishMs = _entries.TryPeek(out var next) ? next.PublishTimeMs : 0;
                return head;
            }
        }
    }

    private sealed class RefusedException(string message) : Exception(message);

    [LoggerMessage(EventId = 12000, EventName = "ReplicatorConnected", Level = LogLevel.Information, Message = "Replicating {Topic} to cluster {Remote} through {Owner}")]
    private static partial void LogConnected(ILogger logger, string topic, string remote, string owner);

    [LoggerMessage(EventId = 12001, EventName = "ReplicatorRetrying", Level = LogLevel.Warning, Message = "Replicating {Topic} to cluster {Remote} failed; retrying in {DelayMs} ms: {Reason}")]
    private static partial void LogRetrying(ILogger logger, string topic, string remote, long delayMs, string reason);

    [LoggerMessage(EventId = 12002, EventName = "ReplicatorStopped", Level = LogLevel.Error, Message = "Replication of {Topic} to cluster {Remote} stopped: {Reason}. Fix the cause, then unload the topic to start it again")]
    private static partial void LogStopped(ILogger logger, string topic, string remote, string reason);

    [LoggerMessage(EventId = 12003, EventName = "ReplicatorRemotePartitions", Level = LogLevel.Information,
        Message = "Partitioned topic {Topic} has {Partitions} partitions in cluster {Remote} ({Local} needed here)")]
    private static partial void LogRemotePartitions(ILogger logger, string topic, string remote, int partitions, int local);
}
