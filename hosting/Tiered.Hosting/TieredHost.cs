using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Tiered.Hosting;

/// <summary>
/// The host of one Tiered process, whatever roles it runs: one DI container and one Kestrel
/// server. A role is added with its builder extension (<c>AddTieredMetadataNode</c>,
/// <c>AddTieredBookie</c>, <c>AddTieredBroker</c>, <c>AddTieredAdminApi</c>); roles start in
/// the order they were added, before the server listens, and stop in reverse order after it
/// stopped. Every HTTP/1.1 endpoint also answers <c>/health/live</c>, <c>/health/ready</c> and
/// <c>/metrics</c> (Prometheus text), without authentication.
/// <code>
/// var builder = TieredHost.CreateBuilder(configuration);
/// builder.AddTieredMetadataNode(metadataOptions);
/// await using var app = TieredHost.Build(builder);
/// await app.RunAsync();
/// </code>
/// </summary>
public static class TieredHost
{
    /// <summary>Meters exported on /metrics: every Tiered assembly's, plus the Raft library's.</summary>
    public static readonly IReadOnlyList<string> ExportedMeters = ["Tiered.*", "DotNext.*"];

    /// <summary>How long a stop waits for open requests and streams before closing them.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A builder whose configuration is <paramref name="configuration"/> only (no appsettings or
    /// ASPNETCORE_ variables), logging to <paramref name="loggerFactory"/> when one is given.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(IConfiguration? configuration = null, ILoggerFactory? loggerFactory = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ApplicationName = "tiered" });
        builder.Configuration.Sources.Clear();
        if (configuration is not null)
            builder.Configuration.AddConfiguration(configuration);
        builder.Logging.ClearProviders();
        if (loggerFactory is not null)
            builder.Services.AddSingleton(loggerFactory);
        // Open streams (adds, watches, consumers) must not hold a stop for the default 30 s.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.AddHealthChecks();
        builder.Services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService("tiered")).WithMetrics(metrics =>
        {
            foreach (var meter in ExportedMeters)
                metrics.AddMeter(meter);
            metrics.AddPrometheusExporter();
        });
        return builder;
    }

    /// <summary>Builds and starts the application (disposed again if it cannot start): for tests and tools that embed roles.</summary>
    public static async Task<WebApplication> StartAsync(WebApplicationBuilder builder, CancellationToken cancellationToken = default)
    {
        var app = Build(builder);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            return app;
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Builds the application: listeners, the roles' endpoints, health and metrics.</summary>
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var listeners = TieredListeners.Of(builder);
        builder.WebHost.ConfigureKestrel(listeners.Apply);
        var app = builder.Build();
        app.UseRouting();
        app.UseLocalPortFilter();
        foreach (var endpoints in app.Services.GetServices<ITieredEndpoints>())
            endpoints.Map(app);
        if (listeners.HttpPorts.Count > 0)
            Operations.Map(app, listeners.HttpPorts);
        return app;
    }
}
