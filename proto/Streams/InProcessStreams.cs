using System.Threading.Channels;
using Grpc.Core;

namespace Tiered.Proto.Streams;

/// <summary>The client's request stream: ends the server's reader on <see cref="CompleteAsync"/>.</summary>
internal sealed class InProcessClientStreamWriter<TRequest, TResponse>(InProcessCall<TRequest, TResponse> call, ChannelWriter<TRequest> requests)
    : IClientStreamWriter<TRequest>
    where TRequest : class
    where TResponse : class
{
    private Task _pending = Task.CompletedTask;
    private bool _completed;

    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(TRequest message) => WriteAsync(message, CancellationToken.None);

    public Task WriteAsync(TRequest message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        // The same misuse that fails over the network fails here, so code tested in-process is right for both.
        if (_completed)
            throw new InvalidOperationException("Request stream has already been completed.");
        if (!_pending.IsCompleted)
            throw new InvalidOperationException("Can't write the message because the previous write is in progress.");
        return requests.TryWrite(message) ? Task.CompletedTask : _pending = WriteSlowAsync(message, cancellationToken);
    }

    private async Task WriteSlowAsync(TRequest message, CancellationToken cancellationToken)
    {
        try
        {
            await requests.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw await call.WriteAfterEndAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            call.Cancel(new Status(StatusCode.Cancelled, "Call canceled by the client."));
            throw call.Failure();
        }
    }

    public Task CompleteAsync()
    {
        _completed = true;
        requests.TryComplete();
        return Task.CompletedTask;
    }
}

/// <summary>The client's response stream: what the handler wrote, then the end, or the call's failure as an <see cref="RpcException"/>.</summary>
internal sealed class InProcessClientStreamReader<TRequest, TResponse>(InProcessCall<TRequest, TResponse> call, ChannelReader<TResponse> responses)
    : IAsyncStreamReader<TResponse>
    where TRequest : class
    where TResponse : class
{
    public TResponse Current { get; private set; } = null!;

    public Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        // A cancelled call fails at once, as over the network, even with responses still buffered.
        if (call.IsCancelled)
            return Task.FromException<bool>(call.Failure());
        if (responses.TryRead(out var response))
        {
            Current = response;
            return Task.FromResult(true);
        }
        return MoveNextSlowAsync(cancellationToken);
    }

    private async Task<bool> MoveNextSlowAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await responses.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (call.IsCancelled)
                    break;
                if (responses.TryRead(out var response))
                {
                    Current = response;
                    return true;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // As in Grpc.Net.Client: cancelling a read cancels the call.
            call.Cancel(new Status(StatusCode.Cancelled, "Call canceled by the client."));
        }
        var status = await call.Completion.ConfigureAwait(false);
        return status.StatusCode == StatusCode.OK ? false : throw call.Failure();
    }
}

/// <summary>The handler's request stream: ends when the client completes its stream; throws once the call is cancelled.</summary>
internal sealed class InProcessServerStreamReader<TRequest, TResponse>(InProcessCall<TRequest, TResponse> call, ChannelReader<TRequest> requests)
    : IAsyncStreamReader<TRequest>
    where TRequest : class
    where TResponse : class
{
    public TRequest Current { get; private set; } = null!;

    public Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        if (!call.IsCancelled && requests.TryRead(out var request))
        {
            Current = request;
            return Task.FromResult(true);
        }
        return MoveNextSlowAsync(cancellationToken);
    }

    private async Task<bool> MoveNextSlowAsync(CancellationToken cancellationToken)
    {
        while (!call.IsCancelled && await requests.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (requests.TryRead(out var request))
            {
                Current = request;
                return true;
            }
        }
        if (call.IsCancelled)
            throw new OperationCanceledException("The client canceled the call.", call.Context.CancellationToken);
        return false;
    }
}

/// <summary>The handler's response stream.</summary>
internal sealed class InProcessServerStreamWriter<TRequest, TResponse>(InProcessCall<TRequest, TResponse> call, ChannelWriter<TResponse> responses)
    : IServerStreamWriter<TResponse>
    where TRequest : class
    where TResponse : class
{
    private const string CallOver = "Can't write the message because the request is complete.";

    private Task _pending = Task.CompletedTask;

    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(TResponse message) => WriteAsync(message, CancellationToken.None);

    public Task WriteAsync(TResponse message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!_pending.IsCompleted)
            throw new InvalidOperationException("Can't write the message because the previous write is in progress.");
        call.OnResponseWritten();
        return responses.TryWrite(message) ? Task.CompletedTask : _pending = WriteSlowAsync(message, cancellationToken);
    }

    private async Task WriteSlowAsync(TResponse message, CancellationToken cancellationToken)
    {
        try
        {
            await responses.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            if (call.IsCancelled)
                throw new OperationCanceledException("The client canceled the call.", call.Context.CancellationToken);
            throw new InvalidOperationException(CallOver);
        }
    }
}
