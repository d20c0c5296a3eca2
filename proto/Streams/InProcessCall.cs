using System.Threading.Channels;
using Grpc.Core;

namespace Tiered.Proto.Streams;

using Metadata = Grpc.Core.Metadata;

/// <summary>
/// One in-process call: runs the handler on the thread pool and decides the call's single final
/// <see cref="Status"/>, whichever comes first of the handler finishing, the client cancelling or
/// disposing the call, and the deadline passing. Messages travel through bounded channels so a
/// side that stops reading holds the other back, as HTTP/2 flow control would.
/// </summary>
internal sealed class InProcessCall<TRequest, TResponse>
    where TRequest : class
    where TResponse : class
{
    private const int StreamCapacity = 256;

    private static readonly Status ClientCancelled = new(StatusCode.Cancelled, "Call canceled by the client.");
    private static readonly Status Disposed = new(StatusCode.Cancelled, "gRPC call disposed.");
    private static readonly Status DeadlinePassed = new(StatusCode.DeadlineExceeded, "Deadline Exceeded");
    private static readonly Status ShutDown = new(StatusCode.Unavailable, "The server is shutting down.");

    private readonly CancellationTokenSource _handlerCancellation = new();
    private readonly TaskCompletionSource<Status> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Metadata> _responseHeaders = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenRegistration _clientCancellation;
    private readonly CancellationTokenRegistration _serverShutdown;
    private readonly ITimer? _deadline;
    private readonly Channel<TRequest>? _requests;
    private readonly Channel<TResponse>? _responses;
    private TResponse? _response;
    private Status _status;
    private Metadata _trailers = [];
    private int _finished;

    public InProcessCall(string method, string? host, CallOptions options, bool streamsRequests, bool streamsResponses, CancellationToken shutdown)
    {
        Context = new InProcessServerCallContext(method, host, options, _handlerCancellation.Token, WriteResponseHeadersAsync);
        if (streamsRequests)
        {
            _requests = Channel.CreateBounded<TRequest>(new BoundedChannelOptions(StreamCapacity) { SingleReader = true, SingleWriter = true });
            ClientRequests = new InProcessClientStreamWriter<TRequest, TResponse>(this, _requests.Writer);
            ServerRequests = new InProcessServerStreamReader<TRequest, TResponse>(this, _requests.Reader);
        }
        if (streamsResponses)
        {
            _responses = Channel.CreateBounded<TResponse>(new BoundedChannelOptions(StreamCapacity) { SingleReader = true, SingleWriter = true });
            ClientResponses = new InProcessClientStreamReader<TRequest, TResponse>(this, _responses.Reader);
            ServerResponses = new InProcessServerStreamWriter<TRequest, TResponse>(this, _responses.Writer);
        }
        // Last: either may fire at once (a cancelled token, a past deadline) and finish the call.
        if (options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            var due = deadline.ToUniversalTime() - DateTime.UtcNow;
            _deadline = TimeProvider.System.CreateTimer(static s => ((InProcessCall<TRequest, TResponse>)s!).Cancel(DeadlinePassed), this,
                due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
        _clientCancellation = options.CancellationToken.UnsafeRegister(static s => ((InProcessCall<TRequest, TResponse>)s!).Cancel(ClientCancelled), this);
        _serverShutdown = shutdown.UnsafeRegister(static s => ((InProcessCall<TRequest, TResponse>)s!).Cancel(ShutDown), this);
    }

    public InProcessServerCallContext Context { get; }

    public InProcessClientStreamWriter<TRequest, TResponse>? ClientRequests { get; }

    public InProcessServerStreamReader<TRequest, TResponse>? ServerRequests { get; }

    public InProcessClientStreamReader<TRequest, TResponse>? ClientResponses { get; }

    public InProcessServerStreamWriter<TRequest, TResponse>? ServerResponses { get; }

    public Task<Metadata> ResponseHeadersAsync => _responseHeaders.Task;

    /// <summary>The final status, once the call is over.</summary>
    public Task<Status> Completion => _completion.Task;

    public bool IsFinished => _completion.Task.IsCompleted;

    /// <summary>Whether the call was cut short (client cancel or dispose, deadline, server shutdown) rather than ended by its handler.</summary>
    public bool IsCancelled => _handlerCancellation.IsCancellationRequested;

    /// <summary>
    /// Runs <paramref name="handler"/> (null: the service does not implement the method). A
    /// <see cref="Task{TResponse}"/> it returns is the unary response.
    /// </summary>
    public void Start(Func<InProcessCall<TRequest, TResponse>, Task>? handler)
    {
        if (handler is null)
            Finish(new Status(StatusCode.Unimplemented, $"Method {Context.Method} is unimplemented."), Context.ResponseTrailers, cancel: false);
        else if (!IsFinished)
            _ = Task.Run(() => RunAsync(handler));
    }

    private async Task RunAsync(Func<InProcessCall<TRequest, TResponse>, Task> handler)
    {
        Status status;
        var trailers = Context.ResponseTrailers;
        try
        {
            var task = handler(this);
            await task.ConfigureAwait(false);
            status = Context.Status;
            if (task is Task<TResponse> unary)
            {
                _response = await unary.ConfigureAwait(false);
                if (_response is null && status.StatusCode == StatusCode.OK)
                    status = new Status(StatusCode.Cancelled, "No message returned from method.");
            }
        }
        catch (RpcException e)
        {
            status = e.Status;
            foreach (var entry in e.Trailers)
                trailers.Add(entry);
        }
        catch (Exception e)
        {
            // Like Grpc.AspNetCore, which hides the details unless asked; here the message helps and stays in-process.
            status = new Status(StatusCode.Unknown, $"Exception was thrown by handler. {e.GetType().Name}: {e.Message}", e);
        }
        Finish(status, trailers, cancel: false);
    }

    /// <summary>Cuts the call short: the handler's token is cancelled and both streams close.</summary>
    public void Cancel(Status status) => Finish(status, [], cancel: true);

    public void Dispose() => Cancel(Disposed);

    private void Finish(Status status, Metadata trailers, bool cancel)
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0)
            return;
        (_status, _trailers) = (status, trailers);
        _deadline?.Dispose();
        // Unregister, not Dispose: this may run inside that very callback.
        _clientCancellation.Unregister();
        _serverShutdown.Unregister();
        // Asynchronously: the handler's cancellation callbacks must not run on (or throw into) the client's thread.
        if (cancel)
            _ = _handlerCancellation.CancelAsync();
        _requests?.Writer.TryComplete();
        _responses?.Writer.TryComplete();
        _responseHeaders.TrySetResult([]);
        _completion.TrySetResult(status);
    }

    private Task WriteResponseHeadersAsync(Metadata headers)
    {
        if (!_responseHeaders.TrySetResult(headers))
            throw new InvalidOperationException("Response headers can only be sent once per call.");
        return Task.CompletedTask;
    }

    /// <summary>
    /// Response headers go out with the first message if the handler did not send them itself. Checked first: a
    /// TrySetResult([]) on every message allocated empty headers (a Metadata and its list) per message written.
    /// </summary>
    public void OnResponseWritten()
    {
        if (!_responseHeaders.Task.IsCompleted)
            _responseHeaders.TrySetResult([]);
    }

    public async Task<TResponse> ResponseAsync()
    {
        var status = await _completion.Task.ConfigureAwait(false);
        return status.StatusCode == StatusCode.OK ? _response! : throw Failure();
    }

    public RpcException Failure() => new(_status, _trailers);

    /// <summary>
    /// What writing the request stream of a call that is over throws once its status is known:
    /// its status as an <see cref="RpcException"/>, even OK, as Grpc.Net.Client does.
    /// </summary>
    public async Task<RpcException> WriteAfterEndAsync()
    {
        await _completion.Task.ConfigureAwait(false);
        return Failure();
    }

    public Status GetStatus() => IsFinished ? _status : throw new InvalidOperationException("Unable to get the status because the call is not complete.");

    public Metadata GetTrailers() => IsFinished ? _trailers : throw new InvalidOperationException("Can't get the call trailers because the call has not completed successfully.");
}
