using Google.Protobuf;
using Grpc.Core;
using Tiered.Bookie.Storage;
using Tiered.Bookie.V1;
using Tiered.Ledger;
using Tiered.Proto.Streams;

namespace Tiered.Bookie.Server;

/// <summary>The gRPC face of a bookie (bookie.proto). Every refusal is a <see cref="Code"/> with a message, never a dropped stream.</summary>
internal sealed class BookieService(BookieStorage storage, BookieState state) : V1.Bookie.BookieBase
{
    public const int MaxPayloadBytes = 5 * 1024 * 1024;

    /// <summary>How long a stream that has sent nothing yet may take to show it carries recovery adds once the bookie is decommissioned.</summary>
    private static readonly TimeSpan RecoveryStreamGrace = TimeSpan.FromSeconds(1);

    private readonly TaskCompletionSource _addStreamsEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Ends the writers' add streams, now and from now on, after answering what was received: the
    /// bookie is being decommissioned. A writer takes an ended stream for a failed bookie and replaces
    /// it by an ensemble change at once, even when it has nothing to add (a refused add would only
    /// tell it at its next add, and an idle writer would keep the bookie in its ensemble). Streams of
    /// recovery adds (a recovering reader writing entries back, which a read-only bookie accepts) are
    /// left to finish; one that has sent nothing is given <see cref="RecoveryStreamGrace"/> to show which it is.
    /// </summary>
    public void EndAddStreams() => _addStreamsEnded.TrySetResult();

    public override async Task AddEntries(IAsyncStreamReader<AddRequest> requestStream, IServerStreamWriter<AddResponse> responseStream, ServerCallContext context)
    {
        // Adds are pipelined: each is handed to storage at once and answered when its journal
        // group is durable. One writer loop serializes the responses onto the stream.
        var adds = new AddStream(state.BookieId);
        var writer = Task.Run(() => adds.WriteResponsesAsync(responseStream, context.CancellationToken));
        var ended = _addStreamsEnded.Task;
        bool? recoveryOnly = null; // null until the first add
        try
        {
            while (true)
            {
                var next = requestStream.MoveNext(context.CancellationToken);
                if (!next.IsCompleted && recoveryOnly != true)
                {
                    if (!ended.IsCompleted)
                        await Task.WhenAny(next, ended).ConfigureAwait(false);
                    if (!next.IsCompleted && recoveryOnly is null)
                        await Task.WhenAny(next, Task.Delay(RecoveryStreamGrace, context.CancellationToken)).ConfigureAwait(false);
                    if (!next.IsCompleted)
                    {
                        // Decommissioned while waiting: the read is abandoned (the call ends with this method).
                        _ = next.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                        break;
                    }
                }
                if (!await next.ConfigureAwait(false))
                    break;
                var request = requestStream.Current;
                recoveryOnly = request.Recovery && recoveryOnly != false;
                adds.Started();
                if (Validate(request) is { } invalid)
                    adds.Answer(request.LedgerId, request.EntryId, invalid.Code, invalid.Message);
                else
                    storage.Add(request.LedgerId, request.EntryId, request.LastAddConfirmed, request.Digest, request.Payload.Memory, request.Recovery, adds, context.CancellationToken);
            }
            await adds.AllAnsweredAsync().ConfigureAwait(false);
        }
        finally
        {
            adds.EndResponses();
        }
        await writer.ConfigureAwait(false);
    }

    /// <summary>
    /// The adds of one <see cref="AddEntries"/> call: storage tells this object each outcome (on
    /// whatever thread completed it) and it queues the answer for the stream's writer loop. Nothing
    /// per add but the response message itself, which the stream (in process: the writer) keeps.
    /// </summary>
    private sealed class AddStream(string bookieId) : IAddCompletion
    {
        private readonly System.Threading.Channels.Channel<AddResponse> _responses = System.Threading.Channels.Channel.CreateUnbounded<AddResponse>(
            new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true });
        private readonly TaskCompletionSource _allAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _unanswered = 1; // the reading loop's own count, dropped by AllAnsweredAsync

        public void Started() => Interlocked.Increment(ref _unanswered);

        /// <summary>Completes once every started add has been answered; call when no more adds start.</summary>
        public Task AllAnsweredAsync()
        {
            Answered();
            return _allAnswered.Task;
        }

        public void EndResponses() => _responses.Writer.TryComplete();

        public void Answer(long ledgerId, long entryId, Code code, string message)
        {
            _responses.Writer.TryWrite(new AddResponse { LedgerId = ledgerId, EntryId = entryId, Code = code, Message = message });
            Answered();
        }

        public void Completed(long ledgerId, long entryId, StorageResult result, Exception? error)
        {
            if (error is OperationCanceledException)
            {
                // The call was cancelled: nobody reads an answer any more.
                Answered();
                return;
            }
            var (code, message) = error is not null
                // Every add gets an answer: a writer must never wait for one that will not come.
                ? (Code.Internal, $"Bookie {bookieId} could not store the entry: {error.Message}")
                : result switch
                {
                    StorageResult.Ok => (Code.Ok, ""),
                    StorageResult.Fenced => (Code.Fenced, $"Ledger {ledgerId} is fenced: another client is recovering it; this writer must stop."),
                    StorageResult.ReadOnly => (Code.ReadOnly, $"Bookie {bookieId} is read-only (its disk is nearly full, or it is being decommissioned); write to another bookie."),
                    _ => (Code.Internal, result.ToString()),
                };
            Answer(ledgerId, entryId, code, message);
        }

        private void Answered()
        {
            if (Interlocked.Decrement(ref _unanswered) == 0)
                _allAnswered.TrySetResult();
        }

        /// <summary>
        /// Writes the answers in the order they came until <see cref="EndResponses"/>. Waiting for
        /// the next answer takes no token (a cancellable wait allocates each time; the call's end
        /// completes the channel anyway); the write itself stops with the call.
        /// </summary>
        public async Task WriteResponsesAsync(IServerStreamWriter<AddResponse> destination, CancellationToken cancellationToken)
        {
            var reader = _responses.Reader;
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (reader.TryRead(out var response))
                    await destination.WriteAsync(response, reader.TryPeek(out _), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static (Code Code, string Message)? Validate(AddRequest request)
    {
        if (request.LedgerId < 0 || request.EntryId < 0 || request.LastAddConfirmed < -1)
            return (Code.InvalidArgument, $"Ledger id, entry id must be >= 0 and LAC >= -1 (got {request.LedgerId}, {request.EntryId}, {request.LastAddConfirmed}).");
        if (request.Payload.Length == 0)
            return (Code.InvalidArgument, "An entry must not be empty.");
        if (request.Payload.Length > MaxPayloadBytes)
            return (Code.InvalidArgument, $"An entry of {request.Payload.Length} bytes is larger than the {MaxPayloadBytes} byte (5 MiB) limit.");
        if (!LedgerDigest.Verify(request.LedgerId, request.EntryId, request.LastAddConfirmed, request.Payload.Span, request.Digest))
            return (Code.BadDigest, $"Entry {request.LedgerId}:{request.EntryId} does not match its digest; it was corrupted on the way or the writer computes it wrongly.");
        return null;
    }

    public override Task<ReadResponse> ReadEntry(ReadRequest request, ServerCallContext context) => ReadAsync(request, context.CancellationToken);

    private async Task<ReadResponse> ReadAsync(ReadRequest request, CancellationToken cancellationToken)
    {
        if (request.LedgerId < 0 || request.EntryId < 0)
            return new ReadResponse { Code = Code.InvalidArgument, LedgerId = request.LedgerId, EntryId = request.EntryId, Message = "Ledger and entry ids must be >= 0." };
        if (request.Fence)
            await storage.FenceAsync(request.LedgerId, cancellationToken).ConfigureAwait(false);
        return Read(request.LedgerId, request.EntryId);
    }

    private ReadResponse Read(long ledgerId, long entryId)
    {
        var response = new ReadResponse { LedgerId = ledgerId, EntryId = entryId };
        try
        {
            var (result, stored) = storage.Read(ledgerId, entryId);
            if (result != StorageResult.Ok)
            {
                response.Code = result == StorageResult.NoSuchLedger ? Code.NoSuchLedger : Code.NoSuchEntry;
                response.Message = $"Bookie {state.BookieId} has no entry {ledgerId}:{entryId}.";
                return response;
            }
            response.LastAddConfirmed = BookieRecord.LastAddConfirmed(stored);
            response.Digest = BookieRecord.Digest(stored);
            response.Payload = UnsafeByteOperations.UnsafeWrap(stored.AsMemory(BookieRecord.EntryHeaderSize));
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            response.Code = Code.Internal;
            response.Message = $"Bookie {state.BookieId} could not read entry {ledgerId}:{entryId}: {e.Message}";
        }
        return response;
    }

    public override async Task ReadRange(ReadRangeRequest request, IServerStreamWriter<ReadResponse> responseStream, ServerCallContext context)
    {
        if (request.LedgerId < 0 || request.FirstEntryId < 0 || request.LastEntryId < request.FirstEntryId)
        {
            await responseStream.WriteAsync(new ReadResponse { Code = Code.InvalidArgument, LedgerId = request.LedgerId, Message = "Need 0 <= first entry id <= last entry id." }).ConfigureAwait(false);
            return;
        }
        for (var entryId = request.FirstEntryId; entryId <= request.LastEntryId; entryId++)
        {
            var response = Read(request.LedgerId, entryId);
            await responseStream.WriteAsync(response, context.CancellationToken).ConfigureAwait(false);
            if (response.Code != Code.Ok)
                return;
        }
    }

    /// <summary>Entries per <see cref="EntryLengthsResponse"/> chunk.</summary>
    private const int LengthsChunk = 4096;

    public override async Task EntryLengths(EntryLengthsRequest request, IServerStreamWriter<EntryLengthsResponse> responseStream, ServerCallContext context)
    {
        if (request.LedgerId < 0 || request.FirstEntryId < 0 || request.LastEntryId < request.FirstEntryId)
        {
            await responseStream.WriteAsync(new EntryLengthsResponse { Code = Code.InvalidArgument, Message = "Need 0 <= first entry id <= last entry id." }).ConfigureAwait(false);
            return;
        }
        if (!storage.TryGetLedger(request.LedgerId, out _, out _, out _))
        {
            await responseStream.WriteAsync(new EntryLengthsResponse { Code = Code.NoSuchLedger, Message = $"Bookie {state.BookieId} has no ledger {request.LedgerId}." }).ConfigureAwait(false);
            return;
        }
        var chunk = new EntryLengthsResponse();
        for (var entryId = request.FirstEntryId; entryId <= request.LastEntryId; entryId++)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            byte[]? stored;
            try
            {
                (_, stored) = storage.Read(request.LedgerId, entryId);
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                // Left out: the reader reads this one from a replica, digest checked.
                stored = null;
            }
            if (stored is null)
                continue;
            chunk.EntryIds.Add(entryId);
            chunk.Lengths.Add(stored.Length - BookieRecord.EntryHeaderSize);
            if (chunk.EntryIds.Count == LengthsChunk)
            {
                await responseStream.WriteAsync(chunk, context.CancellationToken).ConfigureAwait(false);
                chunk = new EntryLengthsResponse();
            }
        }
        if (chunk.EntryIds.Count > 0)
            await responseStream.WriteAsync(chunk, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<ReadLacResponse> ReadLac(ReadLacRequest request, ServerCallContext context)
    {
        if (!storage.TryGetLedger(request.LedgerId, out var lac, out var last, out _))
            return new ReadLacResponse { Code = Code.NoSuchLedger, LastAddConfirmed = -1, LastEntryId = -1 };
        if (request.PreviousLac >= -1 && lac <= request.PreviousLac)
        {
            var timeout = TimeSpan.FromMilliseconds(Math.Clamp(request.TimeoutMs, 0, 60_000));
            lac = await storage.WaitForLacAsync(request.LedgerId, request.PreviousLac, timeout, context.CancellationToken).ConfigureAwait(false);
            storage.TryGetLedger(request.LedgerId, out _, out last, out _);
        }
        return new ReadLacResponse { Code = Code.Ok, LastAddConfirmed = lac, LastEntryId = last };
    }

    public override async Task<FenceResponse> Fence(FenceRequest request, ServerCallContext context)
    {
        if (request.LedgerId < 0)
            return new FenceResponse { Code = Code.InvalidArgument };
        var (lac, last) = await storage.FenceAsync(request.LedgerId, context.CancellationToken).ConfigureAwait(false);
        return new FenceResponse { Code = Code.Ok, LastAddConfirmed = lac, LastEntryId = last };
    }

    public override async Task<DeleteLedgerResponse> DeleteLedger(DeleteLedgerRequest request, ServerCallContext context)
    {
        if (request.LedgerId < 0)
            return new DeleteLedgerResponse { Code = Code.InvalidArgument };
        await storage.DeleteLedgerAsync(request.LedgerId, context.CancellationToken).ConfigureAwait(false);
        return new DeleteLedgerResponse { Code = Code.Ok };
    }

    public override Task<InfoResponse> Info(InfoRequest request, ServerCallContext context) => Task.FromResult(state.Info(storage));
}
