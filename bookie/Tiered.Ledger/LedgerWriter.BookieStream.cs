using System.Threading.Channels;
using Grpc.Core;
using Tiered.Bookie.V1;
using Tiered.Proto.Streams;
using BookieRpc = Tiered.Bookie.V1.Bookie;

namespace Tiered.Ledger;

public sealed partial class LedgerWriter
{
    /// <summary>
    /// The writer's add stream to one ensemble bookie: a single-reader outbox drained onto the
    /// gRPC request stream (gRPC allows one write at a time) and a loop that hands every response
    /// back to the writer.
    /// </summary>
    private sealed class BookieStream
    {
        private readonly LedgerWriter _writer;
        private readonly int _index;
        private readonly AsyncDuplexStreamingCall<AddRequest, AddResponse> _call;
        private readonly Channel<AddRequest> _outbox = Channel.CreateUnbounded<AddRequest>(new UnboundedChannelOptions { SingleReader = true });
        private readonly CancellationTokenSource _abort = new();
        private Task _sending = Task.CompletedTask;
        private Task _receiving = Task.CompletedTask;
        private volatile bool _completing;

        /// <summary>Opens the call; nothing is sent or received until <see cref="Start"/>.</summary>
        public BookieStream(LedgerWriter writer, int index, string bookieId, BookieRpc.BookieClient client)
        {
            (_writer, _index, BookieId) = (writer, index, bookieId);
            _call = client.AddEntries(cancellationToken: _abort.Token);
        }

        /// <summary>
        /// Starts the send and receive loops. Only once the writer holds this stream in its ensemble:
        /// a stream to a dead bookie fails within a millisecond, and its failure must find the
        /// writer complete (every position filled) and this stream in place, or it would be lost.
        /// </summary>
        public void Start()
        {
            _sending = Task.Run(SendAsync);
            _receiving = Task.Run(ReceiveAsync);
        }

        public string BookieId { get; }

        /// <summary>This stream's ensemble position.</summary>
        public int Index => _index;

        /// <summary>Set once the writer counted this bookie as failed: nothing is worth draining then.</summary>
        public bool Failed { get; set; }

        public void Send(AddRequest request) => _outbox.Writer.TryWrite(request);

        private async Task SendAsync()
        {
            try
            {
                await _outbox.Reader.WriteAllAsync(_call.RequestStream, _abort.Token).ConfigureAwait(false);
                await _call.RequestStream.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or OperationCanceledException)
            {
                if (!_abort.IsCancellationRequested)
                    _writer.OnBookieFailed(this, $"sending failed: {e.Message}", e);
            }
        }

        private async Task ReceiveAsync()
        {
            try
            {
                await foreach (var response in _call.ResponseStream.ReadAllAsync(_abort.Token).ConfigureAwait(false))
                    _writer.OnAddResponse(this, response);
                if (!_completing)
                    _writer.OnBookieFailed(this, "it ended the add stream", null);
            }
            catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or OperationCanceledException)
            {
                if (!_abort.IsCancellationRequested && !_completing)
                    _writer.OnBookieFailed(this, $"the add stream broke: {e.Message}", e);
            }
        }

        /// <summary>
        /// Ends the stream. With a <paramref name="drainTimeout"/>, first lets what was queued be sent
        /// and answered (a bookie beyond the ack quorum still gets its copies); then aborts the call.
        /// </summary>
        public async Task CompleteAsync(TimeSpan? drainTimeout)
        {
            _completing = true;
            _outbox.Writer.TryComplete();
            if (drainTimeout is { } timeout && !Failed)
            {
                try
                {
                    await Task.WhenAll(_sending, _receiving).WaitAsync(timeout).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                }
            }
            await _abort.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(_sending, _receiving).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _call.Dispose();
            _abort.Dispose();
        }
    }
}
