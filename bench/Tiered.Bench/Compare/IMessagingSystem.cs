namespace Tiered.Bench.Compare;

/// <summary>
/// One messaging system under comparison: a server process this benchmark starts on 127.0.0.1 and
/// stops by PID, and the operations every workload needs, expressed in the system's own terms
/// (a Tiered topic and subscriptions, a JetStream stream and durable consumers, RabbitMQ queues).
/// </summary>
public interface IMessagingSystem : IAsyncDisposable
{
    /// <summary>Short name for the table, e.g. "RabbitMQ quorum queue".</summary>
    string Name { get; }

    /// <summary>Server version as the server reports it (known after <see cref="StartAsync"/>).</summary>
    string Version { get; }

    /// <summary>When the server's acknowledgement is sent relative to fsync.</summary>
    string Durability { get; }

    /// <summary>How the best durable 1 KB publishing is configured (workload 3).</summary>
    string BestConfiguration { get; }

    /// <summary>PID of the server process (for CPU accounting); 0 before start.</summary>
    int ServerPid { get; }

    /// <summary>Starts the server with its data under <paramref name="dataDir"/> and waits until it accepts clients.</summary>
    Task StartAsync(string dataDir, CancellationToken cancellationToken);

    /// <summary>Stops every process <see cref="StartAsync"/> started, by PID.</summary>
    Task StopAsync();

    /// <summary>
    /// Creates <paramref name="stream"/> with <paramref name="subscriptions"/> durable subscriptions, each of which
    /// will receive every message published from now on, whether or not a consumer is connected.
    /// </summary>
    Task CreateStreamAsync(string stream, int subscriptions, CancellationToken cancellationToken);

    /// <summary>Deletes the stream and its subscriptions where the system allows it, to free memory and disk between workloads.</summary>
    Task DeleteStreamAsync(string stream, CancellationToken cancellationToken);

    /// <summary>A publisher of <paramref name="stream"/>; <paramref name="best"/> selects the best durable configuration (client batching where there is one).</summary>
    Task<IBenchPublisher> CreatePublisherAsync(string stream, int window, bool best, CancellationToken cancellationToken);

    /// <summary>
    /// Connects a consumer to subscription number <paramref name="subscription"/> of <paramref name="stream"/>,
    /// reading from its first message, acknowledging what it receives, and counting each message in <paramref name="counter"/>.
    /// </summary>
    Task<IAsyncDisposable> ConsumeAsync(string stream, int subscription, DeliveryCounter counter, CancellationToken cancellationToken);
}

/// <summary>Publishes one message at a time; many publishes may be outstanding (up to the window the publisher was created with).</summary>
public interface IBenchPublisher : IAsyncDisposable
{
    /// <summary>Completes when the server has acknowledged the message as durable by the system's own rule.</summary>
    ValueTask PublishAsync(ReadOnlyMemory<byte> payload);
}

/// <summary>Messages delivered to the application, counted by any thread.</summary>
public sealed class DeliveryCounter
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public void Add() => Interlocked.Increment(ref _count);
}
