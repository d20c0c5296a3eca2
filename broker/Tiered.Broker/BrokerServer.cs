using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tiered.Broker.Admin;
using Tiered.Broker.Ownership;
using Tiered.Broker.Topics;
using Tiered.Hosting;
using Tiered.Metadata;

namespace Tiered.Broker;

/// <summary>A host that runs one broker (and what <c>roles</c> add, such as the admin API): for tests and tools that embed a broker in their own process.</summary>
public sealed class BrokerServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly BrokerHost _broker;

    private BrokerServer(WebApplication app) => (_app, _broker) = (app, app.Services.GetRequiredService<BrokerHost>());

    public TopicRegistry Topics => _broker.Topics;

    /// <summary>Topic and subscription administration, for the admin REST API.</summary>
    public ITopicAdmin Admin => _broker.Admin;

    /// <summary>Whether the broker serves requests (false once stopping).</summary>
    public bool IsReady => _broker.IsReady;

    /// <summary>The metadata service the broker keeps its state in.</summary>
    public IMetadataStore Metadata => _broker.Metadata;

    /// <summary>
    /// Starts a broker on <paramref name="metadata"/> (used, not owned). <paramref name="roles"/>
    /// adds more to the same host (the admin API: <c>b => b.AddTieredAdminApi()</c>); <paramref name="ownership"/>
    /// decides which topics this broker serves (null: all of them).
    /// </summary>
    public static async Task<BrokerServer> StartAsync(BrokerOptions options, IMetadataStore metadata, ILoggerFactory loggerFactory,
        Action<IHostApplicationBuilder>? roles = null, CancellationToken cancellationToken = default, IOwnershipGate? ownership = null)
    {
        var builder = TieredHost.CreateBuilder(loggerFactory: loggerFactory);
        builder.Services.AddSingleton(metadata);
        if (ownership is not null)
            builder.Services.AddSingleton(ownership);
        builder.AddTieredBroker(options);
        roles?.Invoke(builder);
        return new BrokerServer(await TieredHost.StartAsync(builder, cancellationToken).ConfigureAwait(false));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
