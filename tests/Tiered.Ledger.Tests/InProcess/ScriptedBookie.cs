using Grpc.Core;
using Tiered.Bookie.V1;

namespace Tiered.Ledger.Tests.InProcess;

using Metadata = Grpc.Core.Metadata;

/// <summary>
/// A bookie service that does what a test tells it by the ledger id it is sent, and reports what
/// its side of a call saw (cancellation, the end of the request stream).
/// </summary>
internal sealed class ScriptedBookie : Tiered.Bookie.V1.Bookie.BookieBase
{
    public const long Throws = 1;
    public const long ThrowsRpc = 2;
    public const long Hangs = 3;
    public const long EndsCall = 4;

    public TaskCompletionSource ServerSawCancellation { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource<int> ServerSawRequestsEnd { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override async Task<ReadResponse> ReadEntry(ReadRequest request, ServerCallContext context)
    {
        switch (request.LedgerId)
        {
            case Throws:
                throw new InvalidOperationException("the disk caught fire");
            case ThrowsRpc:
                throw new RpcException(new Status(StatusCode.NotFound, "no such thing"), new Metadata { { "why", "because" } });
            case Hangs:
                await HangAsync(context.CancellationToken);
                break;
        }
        context.ResponseTrailers.Add("peer", context.Peer);
        var header = context.RequestHeaders.GetValue("x-test") ?? "";
        return new ReadResponse { LedgerId = request.LedgerId, EntryId = request.EntryId, Message = header };
    }

    public override async Task ReadRange(ReadRangeRequest request, IServerStreamWriter<ReadResponse> responseStream, ServerCallContext context)
    {
        for (var entryId = request.FirstEntryId; entryId <= request.LastEntryId; entryId++)
            await responseStream.WriteAsync(new ReadResponse { LedgerId = request.LedgerId, EntryId = entryId }, context.CancellationToken);
        if (request.LedgerId == Throws)
            throw new IOException("the range ended badly");
    }

    public override async Task AddEntries(IAsyncStreamReader<AddRequest> requestStream, IServerStreamWriter<AddResponse> responseStream, ServerCallContext context)
    {
        var count = 0;
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                count++;
                if (request.LedgerId == EndsCall)
                    return;
                if (request.LedgerId == Hangs)
                    await HangAsync(context.CancellationToken);
                await responseStream.WriteAsync(new AddResponse { LedgerId = request.LedgerId, EntryId = request.EntryId }, context.CancellationToken);
            }
            ServerSawRequestsEnd.TrySetResult(count);
        }
        catch (OperationCanceledException)
        {
            ServerSawCancellation.TrySetResult();
            throw;
        }
    }

    private async Task HangAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            ServerSawCancellation.TrySetResult();
            throw;
        }
    }
}
