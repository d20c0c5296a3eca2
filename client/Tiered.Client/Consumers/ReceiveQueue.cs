using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;

namespace Tiered.Client.Consumers;

/// <summary>
/// A consumer's receive queue, fed by its partition consumers one delivered entry at a time and drained one message
/// at a time by ReceiveAsync: one queue write (and at most one reader wake-up) per entry, not per message. Each entry
/// is stamped with the stream generation (epoch) of the partition consumer it came from; a reconnection or a
/// redelivery request starts a new generation, and the messages of an older one are dropped as they reach the head
/// of the queue (the broker sends them again). Thread-safe: any number of writers and readers.
/// </summary>
internal sealed class ReceiveQueue
{
    private readonly Channel<QueuedEntry> _entries = Channel.CreateUnbounded<QueuedEntry>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly Lock _lock = new();
    private QueuedEntry _current;
    private int _next;
    private int _added;
    private int _taken;

    /// <summary>Messages in the queue, stale ones included (for tests that must know what has arrived).</summary>
    public int Count => Volatile.Read(ref _added) - Volatile.Read(ref _taken);

    /// <summary>
    /// Queues the <paramref name="count"/> messages of <paramref name="messages"/> (null slots are skipped: messages the
    /// consumer dropped). The array belongs to the queue from now on.
    /// </summary>
    public void Add(PartitionConsumer source, long epoch, ReceivedMessage?[] messages, int count)
    {
        if (_entries.Writer.TryWrite(new QueuedEntry(source, epoch, messages)))
            Interlocked.Add(ref _added, count);
    }

    /// <summary>No more messages: readers take what is queued, then get <paramref name="error"/>.</summary>
    public void Complete(Exception error) => _entries.Writer.TryComplete(error);

    /// <summary>The next message of a current generation, accepted by its partition consumer (which counts its permit); false when none is queued.</summary>
    public bool TryTake([NotNullWhen(true)] out ReceivedMessage? message)
    {
        lock (_lock)
        {
            while (true)
            {
                if (_current.Messages is { } messages)
                {
                    while (_next < messages.Length)
                    {
                        var candidate = messages[_next++];
                        if (candidate is null)
                            continue;
                        _taken++;
                        if (_current.Source.Accept(_current.Epoch, candidate))
                        {
                            message = candidate;
                            return true;
                        }
                    }
                    _current = default;
                }
                if (!_entries.Reader.TryRead(out _current))
                {
                    message = null;
                    return false;
                }
                _next = 0;
            }
        }
    }

    /// <summary>True when a message of a current generation is queued (one TryTake would return); drops stale ones on the way.</summary>
    public bool HasCurrent()
    {
        lock (_lock)
        {
            while (true)
            {
                if (_current.Messages is { } messages)
                {
                    if (_current.Source.IsCurrent(_current.Epoch))
                    {
                        for (var i = _next; i < messages.Length; i++)
                        {
                            if (messages[i] is not null)
                                return true;
                        }
                    }
                    else
                    {
                        for (var i = _next; i < messages.Length; i++)
                            _taken += messages[i] is null ? 0 : 1;
                    }
                    _current = default;
                }
                if (!_entries.Reader.TryRead(out _current))
                    return false;
                _next = 0;
            }
        }
    }

    /// <summary>Waits until an entry is queued: true, or false once the queue is completed (or throws the error it was completed with).</summary>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) => _entries.Reader.WaitToReadAsync(cancellationToken);

    private readonly record struct QueuedEntry(PartitionConsumer Source, long Epoch, ReceivedMessage?[]? Messages);
}
