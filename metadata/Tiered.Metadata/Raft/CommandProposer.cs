using System.Threading.Channels;
using DotNext.Net.Cluster.Consensus.Raft;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Tiered.Metadata.V1;

namespace Tiered.Metadata.Raft;

/// <summary>
/// Group commit for the Raft log: commands from all callers queue here, and one loop packs
/// whatever has arrived into a single <see cref="CommandBatch"/> entry, so one log append
/// (and one fsync on each node) covers many writes. Up to <see cref="MaxInFlight"/> entries
/// replicate at once while the next batch fills. The queue is bounded: callers wait when full.
/// </summary>
internal sealed partial class CommandProposer : IAsyncDisposable
{
    public const int MaxBatchCommands = 4096;
    public const int MaxBatchBytes = 4 * 1024 * 1024;
    public const int MaxInFlight = 2;
    public const int QueueCapacity = 65_536;

    /// <summary>A caller waits at most this long for its command; after that the outcome is unknown to it.</summary>
    public static readonly TimeSpan ApplyTimeout = TimeSpan.FromSeconds(30);

    private readonly IRaftCluster _cluster;
    private readonly Func<MetadataException> _notLeader;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Instrumentation? _instrumentation;
    private readonly Channel<PendingCommand> _queue = Channel.CreateBounded<PendingCommand>(new BoundedChannelOptions(QueueCapacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly SemaphoreSlim _inFlight = new(MaxInFlight, MaxInFlight);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public CommandProposer(IRaftCluster cluster, Func<MetadataException> notLeader, TimeProvider time, ILogger logger, Instrumentation? instrumentation = null)
    {
        (_cluster, _notLeader, _time, _logger, _instrumentation) = (cluster, notLeader, time, logger, instrumentation);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Replicates <paramref name="command"/> and returns its result once a majority committed it.</summary>
    public async Task<IMessage> ProposeAsync(Command command, CancellationToken cancellationToken)
    {
        if (_cluster.LeadershipToken.IsCancellationRequested)
            throw _notLeader();
        var start = _time.GetTimestamp();
        var pending = new PendingCommand(command);
        if (!_queue.Writer.TryWrite(pending))
            await _queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        try
        {
            var result = await pending.Task.WaitAsync(ApplyTimeout, cancellationToken).ConfigureAwait(false);
            _instrumentation?.ProposalLatency.Record(_time.GetElapsedTime(start).TotalSeconds);
            return result;
        }
        catch (TimeoutException e)
        {
            throw new MetadataException(MetadataErrorCode.OutcomeUnknown,
                $"The write was not applied within {ApplyTimeout.TotalSeconds:0} s (the cluster may have lost its majority); it may still be applied later. Read the key to find out.", inner: e);
        }
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                await _inFlight.WaitAsync(_stop.Token).ConfigureAwait(false);
                var commands = new List<PendingCommand>();
                var bytes = 0;
                while (commands.Count < MaxBatchCommands && bytes < MaxBatchBytes && reader.TryRead(out var pending))
                {
                    commands.Add(pending);
                    bytes += pending.Command.CalculateSize();
                }
                _ = ReplicateAsync(new ProposedBatch(commands));
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        while (reader.TryRead(out var pending))
            pending.Complete(null, new MetadataException(MetadataErrorCode.Unavailable, "The metadata node is shutting down."));
    }

    private async Task ReplicateAsync(ProposedBatch batch)
    {
        try
        {
            var message = new CommandBatch { ProposedAtMs = _time.GetUtcNow().ToUnixTimeMilliseconds() };
            foreach (var pending in batch.Commands)
                message.Commands.Add(pending.Command);
            await _cluster.ReplicateAsync(message.ToByteArray(), batch, _stop.Token).ConfigureAwait(false);
        }
        catch (NotLeaderException)
        {
            batch.FailAll(_notLeader());
        }
        catch (Exception e)
        {
            // The entry may have been appended before the failure and be committed later by a new leader.
            LogMessages.ReplicationFailed(_logger, e, batch.Commands.Count);
            batch.FailAll(new MetadataException(MetadataErrorCode.OutcomeUnknown,
                $"Leadership changed or the node stopped while replicating; the write may or may not have been applied ({e.GetType().Name}). Read the key to find out.", inner: e));
        }
        finally
        {
            _inFlight.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
