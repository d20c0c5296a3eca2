using Grpc.Core;

namespace Tiered.Proto.Streams;

using Metadata = Grpc.Core.Metadata;

/// <summary>
/// What a handler sees of an in-process call. Its <see cref="ServerCallContext.CancellationToken"/>
/// is cancelled when the client cancels or disposes the call or its deadline passes, as with a
/// real server; transport-level features (peer identity, propagation) have no meaning here.
/// </summary>
internal sealed class InProcessServerCallContext(string method, string? host, CallOptions options, CancellationToken cancellationToken,
    Func<Metadata, Task> writeResponseHeaders) : ServerCallContext
{
    private static readonly AuthContext Unauthenticated = new(null, new Dictionary<string, List<AuthProperty>>());

    private readonly Metadata _requestHeaders = options.Headers ?? [];
    private readonly Metadata _responseTrailers = [];
    private Status _status = Status.DefaultSuccess;
    private WriteOptions? _writeOptions = options.WriteOptions;

    protected override string MethodCore => method;

    protected override string HostCore => host ?? "inproc";

    protected override string PeerCore => "inproc";

    protected override DateTime DeadlineCore => options.Deadline ?? DateTime.MaxValue;

    protected override Metadata RequestHeadersCore => _requestHeaders;

    protected override CancellationToken CancellationTokenCore => cancellationToken;

    protected override Metadata ResponseTrailersCore => _responseTrailers;

    protected override Status StatusCore
    {
        get => _status;
        set => _status = value;
    }

    protected override WriteOptions? WriteOptionsCore
    {
        get => _writeOptions;
        set => _writeOptions = value;
    }

    protected override AuthContext AuthContextCore => Unauthenticated;

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => writeResponseHeaders(responseHeaders);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("In-process calls do not propagate deadlines or cancellation to child calls; pass them explicitly.");
}
