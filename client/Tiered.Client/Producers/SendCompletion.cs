using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace Tiered.Client.Producers;

/// <summary>
/// What one <c>SendAsync</c> returns a <see cref="ValueTask{MessageId}"/> over: reused from the producer's pool
/// once its result was taken, so a send allocates no task, no task completion source and no async state machine.
/// Completed without forcing its continuation onto the thread pool: the producer completes a receipt's sends in
/// one thread-pool work item (<see cref="PartitionProducer"/>), each continuation running there in turn (or posted
/// to the context the caller awaited in), rather than queueing one work item per message.
/// </summary>
internal sealed class SendCompletion : IValueTaskSource<MessageId>
{
    private ManualResetValueTaskSourceCore<MessageId> _core;
    private Pool? _pool;

    /// <summary>The message's index in its batch.</summary>
    public int BatchIndex { get; set; }

    public ValueTask<MessageId> Task => new(this, _core.Version);

    /// <summary>Completes with the id of the batch's first message (<paramref name="first"/>), this message's index set.</summary>
    public void SetResult(MessageId first) => _core.SetResult(first with { BatchIndex = BatchIndex });

    public void SetException(Exception error) => _core.SetException(error);

    MessageId IValueTaskSource<MessageId>.GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            // Taken once (awaiting a ValueTask twice is not allowed): the next send may have it.
            _core.Reset();
            _pool?.Return(this);
        }
    }

    ValueTaskSourceStatus IValueTaskSource<MessageId>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<MessageId>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    /// <summary>A producer's completions not in use, at most <c>capacity</c> of them (its MaxPendingMessages is plenty).</summary>
    internal sealed class Pool(int capacity)
    {
        private readonly ConcurrentQueue<SendCompletion> _free = new();
        private int _count;

        public SendCompletion Rent(int batchIndex)
        {
            if (_free.TryDequeue(out var completion))
                Interlocked.Decrement(ref _count);
            else
                completion = new SendCompletion { _pool = this };
            completion.BatchIndex = batchIndex;
            return completion;
        }

        public void Return(SendCompletion completion)
        {
            if (Interlocked.Increment(ref _count) <= capacity)
            {
                _free.Enqueue(completion);
                return;
            }
            Interlocked.Decrement(ref _count);
        }
    }
}
