using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tiered.Hosting;
using Tiered.Metadata.Raft;

namespace Tiered.Metadata;

/// <summary>A host that runs one metadata node and nothing else: for tests and tools that embed a node in their own process.</summary>
public sealed class MetadataServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly MetadataNode _node;

    private MetadataServer(WebApplication app)
        => (_app, _node) = (app, app.Services.GetRequiredService<MetadataNode>());

    /// <summary>The node's own store, used in-process without a network hop.</summary>
    public IMetadataStore Store => _node;

    /// <summary>The gRPC address clients connect to, http://HOST:PORT.</summary>
    public string ClientAddress => _node.ClientAddress;

    /// <summary>Starts the Raft node and the gRPC endpoint; returns once both listen (a leader may not be elected yet).</summary>
    public static async Task<MetadataServer> StartAsync(MetadataNodeOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        var builder = TieredHost.CreateBuilder(loggerFactory: loggerFactory);
        builder.AddTieredMetadataNode(options);
        return new MetadataServer(await TieredHost.StartAsync(builder, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Completes when this node knows a leader and has applied what it committed (or throws <see cref="TimeoutException"/>).</summary>
    public Task WaitForLeaderAsync(TimeSpan timeout, CancellationToken cancellationToken = default) => _node.WaitForLeaderAsync(timeout, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
