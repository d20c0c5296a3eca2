using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;
using Tiered.Broker.Metadata;
using Tiered.Broker.Ownership;
using Tiered.Broker.Service;
using Tiered.Hosting;
using Tiered.Ledger;
using Tiered.Metadata;

namespace Tiered.Broker;

/// <summary>The broker role of a Tiered host.</summary>
public static class BrokerHosting
{
    /// <summary>The configuration section of <see cref="BrokerOptions"/>.</summary>
    public const string Section = "Broker";

    /// <summary>
    /// Adds a broker (see <see cref="BrokerHost"/> for its life): the tiered.v1.Messaging gRPC
    /// service (with reflection) on <see cref="BrokerOptions.GrpcListen"/>, and the HTTP endpoint
    /// <see cref="BrokerOptions.HttpListen"/> where the admin API (<c>AddTieredAdminApi</c>),
    /// health and metrics answer. It keeps its state in the process's <see cref="IMetadataStore"/>
    /// when there is one (standalone), else in a client of <see cref="BrokerOptions.Metadata"/>;
    /// it writes to bookies of this process by reference (<see cref="LocalBookies"/>).
    /// </summary>
    public static IHostApplicationBuilder AddTieredBroker(this IHostApplicationBuilder builder, BrokerOptions options)
    {
        options.Validate();
        var listeners = TieredListeners.Of(builder);
        var grpcPort = listeners.Grpc(options.GrpcListen, "--grpc-listen");
        listeners.Http(options.HttpListen, "--http-listen");
        builder.Properties[typeof(BrokerOptions)] = options;
        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.TryAddSingleton<IMetadataStore>(sp => new MetadataClient(options.Metadata, tls: sp.GetService<Tiered.Proto.Tls.TlsTrust>(), token: sp.GetService<Tiered.Proto.Auth.CallToken>()));
        // Standalone owns every topic; a cluster registers its own gate first (TryAdd).
        builder.Services.TryAddSingleton(sp => new PolicyStore(sp.GetRequiredService<IMetadataStore>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger<PolicyStore>()));
        builder.Services.TryAddSingleton<IOwnershipGate>(sp => new StandaloneOwnershipGate(options, sp.GetRequiredService<PolicyStore>()));
        builder.Services.TryAddSingleton(sp => new Instrumentation(sp.GetService<IMeterFactory>()));
        builder.Services.TryAddSingleton(sp => new ManagedLedgers.Instrumentation(sp.GetService<IMeterFactory>()));
        builder.Services.TryAddSingleton(sp => new Ledger.Instrumentation(sp.GetService<IMeterFactory>()));
        builder.Services.TryAddSingleton(sp => new Offloader.Instrumentation(sp.GetService<IMeterFactory>()));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton(sp => new Security.AccessControl(sp.GetService<Tiered.Security.Hosting.TieredSecurity>() ?? Tiered.Security.Hosting.TieredSecurity.Off,
            sp.GetRequiredService<PolicyStore>()));
        builder.Services.AddHostedSingleton<BrokerHost>();
        // Channels to the other brokers that own dead-letter and retry topics; the container disposes them at stop.
        builder.Services.TryAddSingleton(sp => new LetterChannels(sp.GetService<Tiered.Proto.Tls.TlsTrust>(), sp.GetService<Tiered.Proto.Auth.CallToken>()));
        // The broker host owns the registry (and stops it); the container must not dispose it again.
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<MessagingService>(sp, sp.GetRequiredService<BrokerHost>().Topics));
        var maxReceiveMessageSize = options.MaxMessageBytes + 64 * 1024;
        builder.Services.AddGrpc().AddServiceOptions<MessagingService>(o =>
        {
            o.MaxReceiveMessageSize = maxReceiveMessageSize;
            o.MaxSendMessageSize = null;
            o.Interceptors.Add<BrokerErrorInterceptor>();
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddSingleton<ITieredEndpoints>(new Endpoints(grpcPort, maxReceiveMessageSize));
        builder.Services.AddHealthChecks().AddReadinessCheck<ReadinessCheck>("broker");
        return builder;
    }

    /// <summary>The options <see cref="AddTieredBroker"/> was given (for roles that extend the broker, such as the admin API).</summary>
    public static BrokerOptions BrokerOptionsOf(IHostApplicationBuilder builder)
        => builder.Properties.TryGetValue(typeof(BrokerOptions), out var options) ? (BrokerOptions)options
            : throw new InvalidOperationException("Add the broker (AddTieredBroker) before the roles that extend it.");

    private sealed class Endpoints(int grpcPort, int maxReceiveMessageSize) : ITieredEndpoints
    {
        public void Map(WebApplication app)
        {
            app.UseMiddleware<OversizeMessageGuard>((long)maxReceiveMessageSize);
            app.MapGrpcService<MessagingService>().RequireLocalPort(grpcPort);
            app.MapGrpcReflectionService().RequireLocalPort(grpcPort);
        }
    }

    private sealed class ReadinessCheck(BrokerHost broker) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
            => Task.FromResult(broker.IsReady ? HealthCheckResult.Healthy($"{broker.Options.BrokerId} serving") : HealthCheckResult.Unhealthy($"{broker.Options.BrokerId} not serving"));
    }
}
