using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Tiered.Testing;

namespace Tiered.Bench.Compare;

/// <summary>The two kinds of durable RabbitMQ queue compared.</summary>
public enum RabbitMqQueueKind
{
    /// <summary>Raft-replicated queue (here one node); a message is confirmed once fsynced in the Raft log.</summary>
    Quorum,

    /// <summary>Append-only log read by offset; a message is confirmed once written, without an fsync of its own.</summary>
    Stream,
}

/// <summary>
/// RabbitMQ (the Debian <c>rabbitmq-server</c>, its own epmd on a free port) as child processes, driven by
/// RabbitMQ.Client over AMQP 0-9-1 with publisher confirms (tracking on, the client's own rate limiter off:
/// the workload keeps its own window). Quorum: a stream is a fanout exchange with one quorum queue per
/// subscription. Stream: a stream is one stream queue, every subscription a consumer from offset "first".
/// Consumers use a prefetch of 1,000 and acknowledge every 100 messages (multiple).
/// </summary>
public sealed class RabbitMqSystem(RabbitMqQueueKind kind, string binDirectory) : IMessagingSystem
{
    private const ushort Prefetch = 1000;
    private const int AckEvery = 100;

    private PeerProcess? _epmd;
    private PeerProcess? _server;
    private ConnectionFactory? _factory;
    private IConnection? _admin;

    public string Name => kind == RabbitMqQueueKind.Quorum ? "RabbitMQ quorum queue" : "RabbitMQ stream queue";

    public string Version { get; private set; } = "?";

    public string Durability => kind == RabbitMqQueueKind.Quorum
        ? "fsync before confirm (Raft WAL, 1 node)"
        : "confirm after write to the OS, no fsync per message (streams rely on replication; 1 node here)";

    public string BestConfiguration => "publisher confirms, 1,000 in flight (no client batching in AMQP)";

    public int ServerPid => _server is null ? 0 : PeerProcess.ChildrenOf(_server.Pid).FirstOrDefault(_server.Pid);

    private IConnection Admin => _admin ?? throw new InvalidOperationException("RabbitMQ is not started.");

    public async Task StartAsync(string dataDir, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateDirectory(Path.Combine(dataDir, kind == RabbitMqQueueKind.Quorum ? "rabbitmq-quorum" : "rabbitmq-stream")).FullName;
        var (port, distPort, epmdPort) = (TieredProcess.FreePort(), TieredProcess.FreePort(), TieredProcess.FreePort());
        await File.WriteAllTextAsync(Path.Combine(directory, "rabbitmq.conf"), $"listeners.tcp.1 = 127.0.0.1:{Text(port)}\n", cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "enabled_plugins"), "[].\n", cancellationToken);
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = directory,
            ["RABBITMQ_NODENAME"] = "rabbit@localhost",
            ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_NODE_PORT"] = Text(port),
            ["RABBITMQ_DIST_PORT"] = Text(distPort),
            ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
            ["ERL_EPMD_PORT"] = Text(epmdPort),
            ["RABBITMQ_CONFIG_FILE"] = Path.Combine(directory, "rabbitmq.conf"),
            ["RABBITMQ_MNESIA_BASE"] = Path.Combine(directory, "mnesia"),
            ["RABBITMQ_LOG_BASE"] = Path.Combine(directory, "log"),
            ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(directory, "enabled_plugins"),
            ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
        };
        _epmd = PeerProcess.Start("epmd", ["-address", "127.0.0.1", "-port", Text(epmdPort)], Path.Combine(directory, "epmd.log"));
        _server = PeerProcess.Start(Path.Combine(binDirectory, "rabbitmq-server"), [], Path.Combine(directory, "rabbitmq-server.log"), environment);

        _factory = new ConnectionFactory { HostName = "127.0.0.1", Port = port, UserName = "guest", Password = "guest" };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (_admin is null)
        {
            try
            {
                _admin = await _factory.CreateConnectionAsync(cancellationToken);
            }
            catch (BrokerUnreachableException) when (DateTime.UtcNow < deadline && !_server.HasExited)
            {
                await Task.Delay(500, cancellationToken);
            }
        }
        Version = _admin.ServerProperties?.TryGetValue("version", out var version) == true && version is byte[] bytes
            ? Encoding.UTF8.GetString(bytes)
            : "?";
    }

    public async Task StopAsync()
    {
        if (_admin is not null)
            await _admin.DisposeAsync();
        _admin = null;
        if (_server is not null)
        {
            // The start script runs the Erlang VM as its child: stop the VM (and its helpers) by PID, then the script.
            foreach (var child in PeerProcess.ChildrenOf(_server.Pid))
            {
                var helpers = PeerProcess.ChildrenOf(child);
                PeerProcess.Kill(child);
                foreach (var helper in helpers)
                    PeerProcess.Kill(helper);
            }
            _server.Dispose();
            _server = null;
        }
        _epmd?.Dispose();
        _epmd = null;
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    public async Task CreateStreamAsync(string stream, int subscriptions, CancellationToken cancellationToken)
    {
        await using var channel = await Admin.CreateChannelAsync(cancellationToken: cancellationToken);
        if (kind == RabbitMqQueueKind.Stream)
        {
            await channel.QueueDeclareAsync(stream, durable: true, exclusive: false, autoDelete: false,
                arguments: new Dictionary<string, object?> { ["x-queue-type"] = "stream" }, cancellationToken: cancellationToken);
            return;
        }
        await channel.ExchangeDeclareAsync(stream, ExchangeType.Fanout, durable: true, cancellationToken: cancellationToken);
        for (var i = 0; i < subscriptions; i++)
        {
            await channel.QueueDeclareAsync(Queue(stream, i), durable: true, exclusive: false, autoDelete: false,
                arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellationToken);
            await channel.QueueBindAsync(Queue(stream, i), stream, routingKey: "", cancellationToken: cancellationToken);
        }
    }

    public async Task DeleteStreamAsync(string stream, CancellationToken cancellationToken)
    {
        await using var channel = await Admin.CreateChannelAsync(cancellationToken: cancellationToken);
        if (kind == RabbitMqQueueKind.Stream)
        {
            await channel.QueueDeleteAsync(stream, cancellationToken: cancellationToken);
            return;
        }
        for (var i = 0; ; i++)
        {
            try
            {
                await using var probe = await Admin.CreateChannelAsync(cancellationToken: cancellationToken);
                await probe.QueueDeclarePassiveAsync(Queue(stream, i), cancellationToken);
            }
            catch (OperationInterruptedException)
            {
                break;
            }
            await channel.QueueDeleteAsync(Queue(stream, i), cancellationToken: cancellationToken);
        }
        await channel.ExchangeDeleteAsync(stream, cancellationToken: cancellationToken);
    }

    public async Task<IBenchPublisher> CreatePublisherAsync(string stream, int window, bool best, CancellationToken cancellationToken)
    {
        var connection = await Factory.CreateConnectionAsync(cancellationToken);
        var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true, outstandingPublisherConfirmationsRateLimiter: null),
            cancellationToken);
        return kind == RabbitMqQueueKind.Stream
            ? new Publisher(connection, channel, Exchange: "", RoutingKey: stream)
            : new Publisher(connection, channel, Exchange: stream, RoutingKey: "");
    }

    public async Task<IAsyncDisposable> ConsumeAsync(string stream, int subscription, DeliveryCounter counter, CancellationToken cancellationToken)
    {
        var connection = await Factory.CreateConnectionAsync(cancellationToken);
        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await channel.BasicQosAsync(0, Prefetch, global: false, cancellationToken);
        var consumer = new AsyncEventingBasicConsumer(channel);
        long received = 0;
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            counter.Add();
            if (++received % AckEvery == 0)
                await channel.BasicAckAsync(delivery.DeliveryTag, multiple: true);
        };
        var (queue, arguments) = kind == RabbitMqQueueKind.Stream
            ? (stream, new Dictionary<string, object?> { ["x-stream-offset"] = "first" })
            : (Queue(stream, subscription), null);
        await channel.BasicConsumeAsync(queue, autoAck: false, consumerTag: "", noLocal: false, exclusive: false, arguments, consumer, cancellationToken);
        return new Subscriber(connection, channel);
    }

    private ConnectionFactory Factory => _factory ?? throw new InvalidOperationException("RabbitMQ is not started.");

    private static string Queue(string stream, int subscription) => FormattableString.Invariant($"{stream}-sub-{subscription}");

    private static string Text(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed record Publisher(IConnection Connection, IChannel Channel, string Exchange, string RoutingKey) : IBenchPublisher
    {
        private static readonly BasicProperties Persistent = new() { Persistent = true };

        public ValueTask PublishAsync(ReadOnlyMemory<byte> payload) =>
            Channel.BasicPublishAsync(Exchange, RoutingKey, mandatory: false, Persistent, payload);

        public async ValueTask DisposeAsync()
        {
            await Channel.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }

    private sealed record Subscriber(IConnection Connection, IChannel Channel) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Channel.DisposeAsync();
            await Connection.DisposeAsync();
        }
    }
}
