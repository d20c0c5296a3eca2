using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tiered.Metadata.Raft;
using Tiered.Metadata.Server;

namespace Tiered.Metadata;

/// <summary>A metadata node plus its gRPC endpoint: what `tiered metadata` runs, and what `tiered standalone` embeds.</summary>
public sealed class MetadataServer : IAsyncDisposable
{
    private readonly MetadataNode _node;
    private readonly WebApplication _app;

    private MetadataServer(MetadataNode node, WebApplication app) => (_node, _app) = (node, app);

    /// <summary>The node's own store, used in-process (standalone) without a network hop.</summary>
    public IMetadataStore Store => _node;

    /// <summary>The gRPC address clients connect to, http://HOST:PORT.</summary>
    public string ClientAddress => _node.ClientAddress;

    /// <summary>Starts the Raft node and the gRPC endpoint; returns once both listen (a leader may not be elected yet).</summary>
    public static async Task<MetadataServer> StartAsync(MetadataNodeOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var listen = options.ListenEndPoint;
        var clientAddress = $"http://{listen}";
        var node = await MetadataNode.StartAsync(options, clientAddress, loggerFactory, cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Services.AddSingleton(loggerFactory);
            // Open streams (adds, watches) must not hold a stop for the host's default 30 s.
            builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
            builder.Services.AddSingleton(node);
            builder.Services.AddGrpc(o =>
            {
                o.MaxReceiveMessageSize = 8 * 1024 * 1024;
                o.Interceptors.Add<MetadataErrorInterceptor>();
            });
            builder.Services.AddGrpcReflection();
            builder.WebHost.ConfigureKestrel(k => k.Listen(listen, l => l.Protocols = HttpProtocols.Http2));
            var app = builder.Build();
            app.MapGrpcService<MetadataGrpcService>();
            app.MapGrpcReflectionService();
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            return new MetadataServer(node, app);
        }
        catch
        {
            await node.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Completes when this node knows a leader and has applied what it committed (or throws <see cref="TimeoutException"/>).</summary>
    public Task WaitForLeaderAsync(TimeSpan timeout, CancellationToken cancellationToken = default) => _node.WaitForLeaderAsync(timeout, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _node.DisposeAsync().ConfigureAwait(false);
    }
}
