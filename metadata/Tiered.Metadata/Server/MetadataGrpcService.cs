using Grpc.Core;
using Tiered.Metadata.Raft;
using Tiered.Metadata.V1;

namespace Tiered.Metadata.Server;

/// <summary>The gRPC face of a metadata node; errors are mapped by <see cref="MetadataErrorInterceptor"/>.</summary>
internal sealed class MetadataGrpcService(MetadataNode node) : V1.Metadata.MetadataBase
{
    private static ReadConsistency Consistency(bool stale) => stale ? ReadConsistency.Stale : ReadConsistency.Linearizable;

    public override async Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        var kv = await node.GetAsync(request.Key, Consistency(request.Stale), context.CancellationToken).ConfigureAwait(false);
        return new GetResponse { Found = kv is not null, Kv = kv, Revision = node.Revision };
    }

    public override Task<PutResponse> Put(PutRequest request, ServerCallContext context) => node.PutAsync(request, context.CancellationToken);

    public override Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context) => node.DeleteAsync(request, context.CancellationToken);

    public override async Task<ListResponse> List(ListRequest request, ServerCallContext context)
    {
        var response = new ListResponse();
        if (request.Recursive)
            response.Kvs.AddRange(await node.ListAsync(request.Path, Consistency(request.Stale), context.CancellationToken).ConfigureAwait(false));
        else
            response.Children.AddRange(await node.ListChildrenAsync(request.Path, Consistency(request.Stale), context.CancellationToken).ConfigureAwait(false));
        response.Revision = node.Revision;
        return response;
    }

    public override async Task<TxnResponse> Txn(TxnRequest request, ServerCallContext context)
        => await node.TxnAsync(request, context.CancellationToken).ConfigureAwait(false);

    public override async Task Watch(WatchRequest request, IServerStreamWriter<WatchEvent> responseStream, ServerCallContext context)
    {
        var reader = node.Subscribe(request.Prefix, request.FromRevision, context.CancellationToken, out var start);
        await context.WriteResponseHeadersAsync(new Grpc.Core.Metadata { { MetadataWire.RevisionHeader, start.ToString(System.Globalization.CultureInfo.InvariantCulture) } }).ConfigureAwait(false);
        try
        {
            await foreach (var e in reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                await responseStream.WriteAsync(e, context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
        }
    }

    public override async Task<CreateSessionResponse> CreateSession(CreateSessionRequest request, ServerCallContext context)
    {
        var id = await node.CreateSessionAsync(TimeSpan.FromMilliseconds(request.TtlMs), context.CancellationToken).ConfigureAwait(false);
        return new CreateSessionResponse { SessionId = id, TtlMs = request.TtlMs };
    }

    public override async Task<KeepAliveResponse> KeepAlive(KeepAliveRequest request, ServerCallContext context)
    {
        await node.KeepAliveAsync(request.SessionId, context.CancellationToken).ConfigureAwait(false);
        return new KeepAliveResponse();
    }

    public override async Task<CloseSessionResponse> CloseSession(CloseSessionRequest request, ServerCallContext context)
    {
        await node.CloseSessionAsync(request.SessionId, context.CancellationToken).ConfigureAwait(false);
        return new CloseSessionResponse();
    }

    public override async Task<NextIdResponse> NextId(NextIdRequest request, ServerCallContext context)
        => new() { FirstId = await node.NextIdAsync(request.Name, request.Count, context.CancellationToken).ConfigureAwait(false) };

    public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context) => Task.FromResult(node.Status());
}
