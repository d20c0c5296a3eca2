using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tiered.V1;

namespace Tiered.Client.Producers;

/// <summary>
/// The producer of one topic or partition. Messages gather in the open batch; sealed batches wait in
/// <c>_unsent</c> until the connection's write loop sends them, then in <c>_awaitingReceipt</c> until their
/// receipts arrive in order. On a new stream every batch not yet receipted is sent again, in order.
/// All three are guarded by <c>_lock</c>, never held across an await.
/// </summary>
internal sealed partial class PartitionProducer : Sessions.ISessionStream
{
    /// <summary>ProducerOpened.max_message_bytes when the broker does not say.</summary>
    public const int DefaultMaxMessageBytes = 5 * 1024 * 1024;

    /// <summary>Room kept in a batch for its header (format, producer name, sequence id, time).</summary>
    private const int BatchHeaderBytes = 512;

    private readonly TieredClient _client;
    private readonly ProducerOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Queue<SpaceWaiter> _waiters = new();
    private int _pending;
    private readonly Channel<bool> _wakeup = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly SendCompletion.Pool _completions;
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Queue<PendingBatch> _unsent = new();
    private readonly Queue<PendingBatch> _awaitingReceipt = new();
    private PendingBatch? _open;
    private PendingBatch? _lastSealed;
    private SpaceWaiter? _lastWaiter;
    private ulong _nextSequenceId;
    private Exception? _closed;
    private string _producerName;
    private volatile int _maxMessageBytes = DefaultMaxMessageBytes;
    private bool _everOpened;
    private Task _run = Task.CompletedTask;

    public PartitionProducer(TieredClient client, ProducerOptions options, string topic, int partition)
    {
        _client = client;
        _options = options;
        Topic = topic;
        Partition = partition;
        _producerName = options.ProducerName ?? "";
        _completions = new SendCompletion.Pool(Math.Max(1, options.MaxPendingMessages));
        _logger = client.LoggerFactory.CreateLogger<PartitionProducer>();
    }

    public string Topic { get; }

    /// <summary>-1 for a topic without partitions.</summary>
    public int Partition { get; }

    public string ProducerName
    {
        get
        {
            lock (_lock)
                return _producerName;
        }
    }

    public int MaxMessageBytes => _maxMessageBytes;

    /// <summary>Completes when the first stream is open; fails if the broker refused it for good.</summary>
    public Task Opened => _opened.Task;

    public void Start() => _run = RunAsync();

    /// <summary>
    /// Queues a message; completes with its id when the broker stored it. The cancellation token only stops the
    /// wait for room (MaxPendingMessages); a message once queued is sent. With room, nothing is allocated for the
    /// wait: the returned ValueTask is over a pooled <see cref="SendCompletion"/>, so it must be awaited once.
    /// </summary>
    public ValueTask<MessageId> SendAsync(Message message, CancellationToken cancellationToken)
    {
        var size = message.CalculateSize();
        var max = _maxMessageBytes;
        if (size + BatchHeaderBytes > max)
            return ValueTask.FromException<MessageId>(new TieredClientException($"A message of {size} bytes is larger than {Topic} accepts: at most {max - BatchHeaderBytes} bytes per message ({max} per batch)."));
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<MessageId>(cancellationToken);
        SendCompletion send;
        bool wake;
        SpaceWaiter waiter;
        lock (_lock)
        {
            if (_closed is not null)
                return ValueTask.FromException<MessageId>(Closed());
            if (_pending < _options.MaxPendingMessages && _waiters.Count == 0)
            {
                _pending++;
                send = _completions.Rent(0);
                Append(message, size + 5, send, out wake);
                waiter = null!;
            }
            else
            {
                // Full: wait in line, so messages keep the order of the calls.
                waiter = new SpaceWaiter(this, message, size + 5);
                _waiters.Enqueue(waiter);
                _lastWaiter = waiter;
                send = null!;
                wake = false;
            }
        }
        if (send is null)
            return SendWhenAdmittedAsync(waiter, cancellationToken);
        if (wake)
            _wakeup.Writer.TryWrite(true);
        return send.Task;
    }

    private static async ValueTask<MessageId> SendWhenAdmittedAsync(SpaceWaiter waiter, CancellationToken cancellationToken)
    {
        SendCompletion send;
        using (cancellationToken.Register(static w => ((SpaceWaiter)w!).Cancel(), waiter))
            send = await waiter.Admitted.Task.ConfigureAwait(false);
        return await send.Task.ConfigureAwait(false);
    }

    /// <summary>Frees room for <paramref name="count"/> messages and admits waiting sends, in order, into batches.</summary>
    private void Release(int count)
    {
        List<(SpaceWaiter Waiter, SendCompletion Send)>? admitted = null;
        var wake = false;
        lock (_lock)
        {
            _pending -= count;
            while (_closed is null && _pending < _options.MaxPendingMessages && _waiters.TryDequeue(out var waiter))
            {
                if (waiter.Admitted.Task.IsCompleted)
                    continue;
                waiter.IsAdmitted = true;
                _pending++;
                var send = _completions.Rent(0);
                Append(waiter.Message, waiter.EncodedSize, send, out var sealedOne);
                wake |= sealedOne;
                (admitted ??= []).Add((waiter, send));
            }
        }
        if (wake)
            _wakeup.Writer.TryWrite(true);
        if (admitted is null)
            return;
        foreach (var (waiter, send) in admitted)
            waiter.Admitted.TrySetResult(send);
    }

    /// <summary>
    /// Sends the open batch and waits until every message queued so far, including those still waiting for room,
    /// was acknowledged or failed.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task? last;
            SpaceWaiter? waiting;
            lock (_lock)
            {
                if (_open is not null)
                    Seal();
                last = _lastSealed?.WhenDone();
                waiting = _waiters.Count > 0 ? _lastWaiter : null;
            }
            _wakeup.Writer.TryWrite(true);
            if (waiting is not null)
            {
                // Once the last waiting message is in a batch, seal again and wait for that batch.
                await ((Task)waiting.Admitted.Task).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                cancellationToken.ThrowIfCancellationRequested();
                continue;
            }
            if (last is not null)
                await last.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
            return;
        }
    }

    /// <summary>Flushes (for at most the operation timeout), then fails what is left and stops the connection.</summary>
    public async ValueTask CloseAsync(bool flush)
    {
        if (flush && _opened.Task.IsCompletedSuccessfully)
        {
            using var timeout = new CancellationTokenSource(_client.Options.OperationTimeout, _client.Options.TimeProvider);
            try
            {
                await FlushAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // What is still pending fails below.
            }
        }
        Fail(new TieredClientException($"The producer on {Topic} was closed before the message was acknowledged."));
        _opened.TrySetException(new TieredClientException($"The producer on {Topic} was closed."));
        await _stop.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    // Under _lock.
    private void Append(Message message, int encodedSize, SendCompletion send, out bool wake)
    {
        wake = false;
        var byteLimit = Math.Min(_options.BatchingMaxBytes, _maxMessageBytes - BatchHeaderBytes);
        // The broker holds a batch until its latest deliver_at_ms: a message due at another time starts a new batch.
        if (_open is not null && (_open.Bytes + encodedSize > byteLimit || _open.DeliverAtMs != message.DeliverAtMs))
        {
            Seal();
            wake = true;
        }
        var batch = _open ??= new PendingBatch(_nextSequenceId);
        batch.Add(message, encodedSize, send);
        _nextSequenceId++;
        var nothingInFlight = _unsent.Count == 0 && _awaitingReceipt.Count == 0;
        if (!_options.BatchingEnabled || nothingInFlight || batch.Count >= _options.BatchingMaxMessages || batch.Bytes >= byteLimit)
        {
            Seal();
            wake = true;
        }
    }

    // Under _lock.
    private void Seal()
    {
        var batch = _open!;
        batch.Seal(_producerName, _client.Options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        _unsent.Enqueue(batch);
        _lastSealed = batch;
        _open = null;
    }

    /// <summary>Fails every message not yet acknowledged, and every later send, with <paramref name="error"/>.</summary>
    private void Fail(Exception error)
    {
        List<PendingBatch> failed;
        List<Answered> answered;
        SpaceWaiter[] waiters;
        lock (_lock)
        {
            _closed ??= error;
            waiters = [.. _waiters];
            _waiters.Clear();
            failed = new List<PendingBatch>(_awaitingReceipt.Count + _unsent.Count + 1);
            failed.AddRange(_awaitingReceipt);
            failed.AddRange(_unsent);
            if (_open is not null)
                failed.Add(_open);
            _awaitingReceipt.Clear();
            _unsent.Clear();
            _open = null;
            answered = new List<Answered>(failed.Count);
            foreach (var batch in failed)
                answered.Add(new Answered(batch, default, _closed, batch.MarkDone()));
        }
        Dispatch(answered);
        foreach (var batch in failed)
        {
            Release(batch.Count);
            Instrumentation.SendErrors.Add(batch.Count);
        }
        foreach (var waiter in waiters)
            waiter.Admitted.TrySetException(Closed());
    }

    /// <summary>A send waiting for room: admitted in call order as receipts free room, or cancelled while still waiting.</summary>
    private sealed class SpaceWaiter(PartitionProducer producer, Message message, int encodedSize)
    {
        public Message Message { get; } = message;

        public int EncodedSize { get; } = encodedSize;

        /// <summary>Set under the producer's lock once the message is in a batch; from then on it is sent, cancelled or not.</summary>
        public bool IsAdmitted { get; set; }

        public TaskCompletionSource<SendCompletion> Admitted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Cancel()
        {
            lock (producer._lock)
            {
                if (!IsAdmitted)
                    Admitted.TrySetCanceled();
            }
        }
    }

    private TieredClientException Closed() => _closed as TieredClientException
        ?? new TieredClientException($"The producer on {Topic} is closed: {_closed!.Message}", _closed);
}
