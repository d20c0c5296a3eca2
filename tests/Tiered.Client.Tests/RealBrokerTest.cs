using Tiered.Testing;

namespace Tiered.Client.Tests;

/// <summary>A test class whose tests run the .NET client against one real broker (metadata service, bookie and broker, real gRPC).</summary>
public abstract class RealBrokerTest : IAsyncLifetime
{
    protected LocalBroker Broker { get; private set; } = null!;

    protected TieredClient Client { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        Broker = await LocalBroker.StartAsync();
        Client = new TieredClient(Broker.Url);
    }

    public virtual async Task DisposeAsync()
    {
        await Client.DisposeAsync();
        await Broker.DisposeAsync();
    }

    /// <summary>The next message, or null when none arrives within <paramref name="wait"/>.</summary>
    protected static async Task<ReceivedMessage?> ReceiveOrNullAsync(Consumer consumer, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            return await consumer.ReceiveAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
