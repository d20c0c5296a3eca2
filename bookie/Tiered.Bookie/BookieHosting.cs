using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Tiered.Bookie.Server;
using Tiered.Hosting;
using Tiered.Ledger;
using Tiered.Metadata;

namespace Tiered.Bookie;

/// <summary>The bookie role of a Tiered host.</summary>
public static class BookieHosting
{
    /// <summary>The configuration section of <see cref="BookieOptions"/>.</summary>
    public const string Section = "Bookie";

    /// <summary>
    /// Adds a bookie (see <see cref="BookieHost"/> for its life): its gRPC service answers on
    /// <see cref="BookieOptions.Listen"/>, in-process writers reach it through <see cref="LocalBookies"/>,
    /// and <c>/health/ready</c> passes while it is registered and writable. It registers in the process's
    /// <see cref="IMetadataStore"/> when there is one (standalone), else in a client of
    /// <see cref="BookieOptions.Metadata"/>.
    /// </summary>
    public static IHostApplicationBuilder AddTieredBookie(this IHostApplicationBuilder builder, BookieOptions options)
    {
        options.Validate();
        var listeners = TieredListeners.Of(builder);
        var grpcPort = listeners.Grpc(options.Listen, "--listen");
        listeners.Http(options.HttpListen, "--http-listen");
        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.TryAddSingleton<LocalBookies>();
        builder.Services.TryAddSingleton<IMetadataStore>(sp => new MetadataClient(options.Metadata, tls: sp.GetService<Tiered.Proto.Tls.TlsTrust>(), token: sp.GetService<Tiered.Proto.Auth.CallToken>()));
        builder.Services.TryAddSingleton(sp => new Instrumentation(sp.GetService<IMeterFactory>()));
        builder.Services.AddHostedSingleton<BookieHost>();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<BookieHost>().Service);
        builder.Services.AddGrpc().AddServiceOptions<BookieService>(o =>
        {
            o.MaxReceiveMessageSize = 8 * 1024 * 1024;
            o.MaxSendMessageSize = 8 * 1024 * 1024;
            o.Interceptors.Add<BookieErrorInterceptor>();
        });
        builder.Services.AddSingleton<ITieredEndpoints>(new Endpoints(grpcPort));
        builder.Services.AddHealthChecks().AddReadinessCheck<ReadinessCheck>("bookie");
        return builder;
    }

    private sealed class Endpoints(int grpcPort) : ITieredEndpoints
    {
        public void Map(WebApplication app) => app.MapGrpcService<BookieService>().RequireLocalPort(grpcPort);
    }

    /// <summary>
    /// Ready: registered and writable, so it can take new ledgers. A read-only bookie (disk nearly full,
    /// journal failed, being drained) still serves reads but is not ready: a rolling restart waits for it,
    /// and a disruption budget counts it as down, as BookKeeper's readiness does.
    /// </summary>
    private sealed class ReadinessCheck(BookieHost bookie) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
            => Task.FromResult(
                !bookie.IsRegistered ? HealthCheckResult.Unhealthy($"{bookie.BookieId} not registered")
                : bookie.IsReadOnly ? HealthCheckResult.Unhealthy($"{bookie.BookieId} registered, read-only: it refuses new entries (disk nearly full or journal failed)")
                : HealthCheckResult.Healthy($"{bookie.BookieId} registered, writable"));
    }
}
