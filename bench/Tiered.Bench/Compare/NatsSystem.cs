using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Tiered.Testing;

namespace Tiered.Bench.Compare;

/// <summary>
/// NATS with JetStream (the Debian <c>nats-server</c>) as a child process, driven by NATS.Net: a stream
/// is a JetStream stream with file storage and one subject, a subscription a durable pull consumer
/// (AckPolicy All, acknowledged every 100 messages); publishing is pipelined JetStream publish, each
/// call awaiting its PubAck.
/// </summary>
public sealed class NatsSystem(string serverPath) : IMessagingSystem
{
    private const int AckEvery = 100;

    private PeerProcess? _server;
    private NatsConnection? _connection;
    private NatsJSContext? _jetStream;

    public string Name => "NATS JetStream";

    public string Version { get; private set; } = "?";

    public string Durability => "ack after write to the OS, no fsync per message (2.9 syncs about every 2 minutes)";

    public string BestConfiguration => "async publish, 1,000 in flight (no client batching in JetStream)";

    public int ServerPid => _server?.Pid ?? 0;

    private NatsJSContext JetStream => _jetStream ?? throw new InvalidOperationException("NATS is not started.");

    public async Task StartAsync(string dataDir, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateDirectory(Path.Combine(dataDir, "nats")).FullName;
        var port = TieredProcess.FreePort();
        var monitorPort = TieredProcess.FreePort();
        _server = PeerProcess.Start(serverPath,
            ["-js", "-sd", directory, "-a", "127.0.0.1", "-p", Text(port), "-m", Text(monitorPort)],
            Path.Combine(directory, "nats-server.log"));
        var url = $"nats://127.0.0.1:{Text(port)}";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var connection = new NatsConnection(NatsOpts.Default with { Url = url, SubPendingChannelCapacity = 16_384 });
            try
            {
                await connection.ConnectAsync();
                _connection = connection;
                break;
            }
            catch (NatsException) when (DateTime.UtcNow < deadline && !_server.HasExited)
            {
                await connection.DisposeAsync();
                await Task.Delay(200, cancellationToken);
            }
        }
        Version = _connection.ServerInfo?.Version ?? "?";
        _jetStream = (NatsJSContext)_connection.CreateJetStreamContext();
    }

    public async Task StopAsync()
    {
        if (_connection is not null)
            await _connection.DisposeAsync();
        _connection = null;
        _jetStream = null;
        _server?.Dispose();
        _server = null;
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    public async Task CreateStreamAsync(string stream, int subscriptions, CancellationToken cancellationToken)
    {
        await JetStream.CreateStreamAsync(new StreamConfig(stream, [Subject(stream)]) { Storage = StreamConfigStorage.File }, cancellationToken);
        for (var i = 0; i < subscriptions; i++)
        {
            await JetStream.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig(Durable(i))
            {
                AckPolicy = ConsumerConfigAckPolicy.All,
                DeliverPolicy = ConsumerConfigDeliverPolicy.All,
                MaxAckPending = 20_000,
            }, cancellationToken);
        }
    }

    public async Task DeleteStreamAsync(string stream, CancellationToken cancellationToken) =>
        await JetStream.DeleteStreamAsync(stream, cancellationToken);

    public Task<IBenchPublisher> CreatePublisherAsync(string stream, int window, bool best, CancellationToken cancellationToken) =>
        Task.FromResult<IBenchPublisher>(new Publisher(JetStream, Subject(stream)));

    public async Task<IAsyncDisposable> ConsumeAsync(string stream, int subscription, DeliveryCounter counter, CancellationToken cancellationToken)
    {
        var consumer = await JetStream.GetConsumerAsync(stream, Durable(subscription), cancellationToken);
        return new Subscriber(consumer, counter);
    }

    private static string Subject(string stream) => $"{stream}.messages";

    private static string Durable(int subscription) => FormattableString.Invariant($"sub-{subscription}");

    private static string Text(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed class Publisher(NatsJSContext jetStream, string subject) : IBenchPublisher
    {
        public async ValueTask PublishAsync(ReadOnlyMemory<byte> payload)
        {
            var ack = await jetStream.PublishAsync(subject, payload).ConfigureAwait(false);
            ack.EnsureSuccess();
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class Subscriber : IAsyncDisposable
    {
        private readonly INatsJSConsumer _consumer;
        private readonly DeliveryCounter _counter;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public Subscriber(INatsJSConsumer consumer, DeliveryCounter counter)
        {
            (_consumer, _counter) = (consumer, counter);
            _loop = Task.Run(ReceiveAsync);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }

        private async Task ReceiveAsync()
        {
            long received = 0;
            try
            {
                await foreach (var message in _consumer.ConsumeAsync<ReadOnlyMemory<byte>>(
                    opts: new NatsJSConsumeOpts { MaxMsgs = 1000 }, cancellationToken: _stop.Token).ConfigureAwait(false))
                {
                    _counter.Add();
                    if (++received % AckEvery == 0)
                        await message.AckAsync(cancellationToken: _stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
        }
    }
}
