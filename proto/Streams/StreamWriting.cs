using System.Threading.Channels;
using Grpc.Core;

namespace Tiered.Proto.Streams;

/// <summary>Write loops for gRPC streams that flush once per burst rather than once per message.</summary>
public static class StreamWriting
{
    private static readonly WriteOptions Buffered = new(WriteFlags.BufferHint);

    /// <summary>
    /// Writes everything <paramref name="source"/> yields until it completes. A message with more
    /// queued behind it is only buffered; the last of a burst flushes them all, so many small
    /// messages share one network write without any waiting.
    /// </summary>
    public static async Task WriteAllAsync<T>(this ChannelReader<T> source, IAsyncStreamWriter<T> destination, CancellationToken cancellationToken)
    {
        while (await source.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (source.TryRead(out var item))
                await destination.WriteAsync(item, source.TryPeek(out _), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes one message; with <paramref name="moreToCome"/> it is buffered until the next write that is not.</summary>
    public static Task WriteAsync<T>(this IAsyncStreamWriter<T> destination, T message, bool moreToCome, CancellationToken cancellationToken)
    {
        destination.WriteOptions = moreToCome ? Buffered : null;
        return destination.WriteAsync(message, cancellationToken);
    }
}
