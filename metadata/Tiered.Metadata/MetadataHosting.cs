using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tiered.Hosting;
using Tiered.Metadata.Raft;
using Tiered.Metadata.Server;

namespace Tiered.Metadata;

/// <summary>The metadata-node role of a Tiered host.</summary>
public static class MetadataHosting
{
    /// <summary>The configuration section of <see cref="MetadataNodeOptions"/>.</summary>
    public const string Section = "Metadata";

    /// <summary>
    /// Adds a metadata node: its Raft member starts with the host (before the server listens) and
    /// stops after the server stopped; its gRPC service answers on <see cref="MetadataNodeOptions.Listen"/>;
    /// <c>/health/ready</c> passes once it knows a leader and has applied what is committed. The node
    /// is also the process's <see cref="IMetadataStore"/> (other roles in the process use it directly).
    /// </summary>
    public static IHostApplicationBuilder AddTieredMetadataNode(this IHostApplicationBuilder builder, MetadataNodeOptions options)
    {
        options.Validate();
        var listeners = TieredListeners.Of(builder);
        var grpcPort = listeners.Grpc(options.Listen, "--listen");
        listeners.Http(options.HttpListen, "--http-listen");
        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.TryAddSingleton(sp => new Instrumentation(sp.GetService<IMeterFactory>()));
        builder.Services.AddHostedSingleton<MetadataNodeHost>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<MetadataNodeHost>().Node);
        builder.Services.TryAddSingleton<IMetadataStore>(sp => sp.GetRequiredService<MetadataNode>());
        builder.Services.AddGrpc().AddServiceOptions<MetadataGrpcService>(o =>
        {
            o.MaxReceiveMessageSize = 8 * 1024 * 1024;
            o.Interceptors.Add<MetadataErrorInterceptor>();
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddSingleton<ITieredEndpoints>(new Endpoints(grpcPort));
        builder.Services.AddHealthChecks().AddReadinessCheck<ReadinessCheck>("metadata");
        return builder;
    }

    /// <summary>Completes when the process's metadata node knows a leader and has applied what it committed (or throws <see cref="TimeoutException"/>).</summary>
    public static Task WaitForLeaderAsync(IServiceProvider services, TimeSpan timeout, CancellationToken cancellationToken)
        => services.GetRequiredService<MetadataNodeHost>().Node.WaitForLeaderAsync(timeout, cancellationToken);

    private sealed class Endpoints(int grpcPort) : ITieredEndpoints
    {
        public void Map(WebApplication app)
        {
            app.MapGrpcService<MetadataGrpcService>().RequireLocalPort(grpcPort);
            app.MapGrpcReflectionService().RequireLocalPort(grpcPort);
        }
    }

    private sealed class ReadinessCheck(MetadataNodeHost host) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (host.Started is not { } node)
                return Task.FromResult(HealthCheckResult.Unhealthy("not started"));
            var status = node.Status();
            return Task.FromResult(
                status.LeaderAddress.Length == 0 ? HealthCheckResult.Unhealthy($"no leader known ({status.Role})")
                : status.AppliedIndex < status.CommitIndex ? HealthCheckResult.Unhealthy($"catching up: applied {status.AppliedIndex} of {status.CommitIndex}")
                : HealthCheckResult.Healthy($"{status.Role}, term {status.Term}, applied {status.AppliedIndex}"));
        }
    }
}

/// <summary>Starts and stops the process's metadata node with the host.</summary>
internal sealed class MetadataNodeHost(IOptions<MetadataNodeOptions> options, ILoggerFactory loggerFactory, Instrumentation instrumentation) : IHostedService
{
    /// <summary>The node once started, else null.</summary>
    public MetadataNode? Started { get; private set; }

    public MetadataNode Node => Started ?? throw new InvalidOperationException("The metadata node is used before the host started it.");

    public async Task StartAsync(CancellationToken cancellationToken)
        => Started = await MetadataNode.StartAsync(options.Value, ClientAddress(options.Value), loggerFactory, cancellationToken: cancellationToken, instrumentation: instrumentation).ConfigureAwait(false);

    /// <summary>The URL clients are told (a leader's redirect): the listen address as configured, a name kept a name.</summary>
    private static string ClientAddress(MetadataNodeOptions options) => HostPort.Parse(options.Listen, "--listen").ToUri().ToString().TrimEnd('/');

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Started is { } node)
            await node.DisposeAsync().ConfigureAwait(false);
    }
}
