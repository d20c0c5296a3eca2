using Tiered.Testing;
namespace Tiered.Broker.Tests;

/// <summary>One broker (with its metadata service and bookie) shared by the tests of a class; each test uses its own topics.</summary>
public sealed class BrokerFixture : IAsyncLifetime
{
    private LocalBroker? _broker;

    public LocalBroker Broker => _broker ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => _broker = await LocalBroker.StartAsync();

    public async Task DisposeAsync()
    {
        if (_broker is not null)
            await _broker.DisposeAsync();
    }

    /// <summary>A topic name no other test uses.</summary>
    public static string NewTopic(string prefix = "t") => $"persistent://public/default/{prefix}-{Guid.NewGuid():N}";
}
