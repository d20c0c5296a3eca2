using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Tiered.Hosting;

/// <summary>
/// The operations endpoints of every role, on its HTTP/1.1 ports: <c>/health/live</c> (the
/// process serves HTTP), <c>/health/ready</c> (every check tagged <see cref="ReadyTag"/> passes:
/// 200, else 503), and <c>/metrics</c>. Both health answers carry a JSON body naming each check.
/// </summary>
public static class Operations
{
    /// <summary>The tag of the checks /health/ready runs.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Adds a readiness check of a role.</summary>
    public static IHealthChecksBuilder AddReadinessCheck<TCheck>(this IHealthChecksBuilder builder, string name)
        where TCheck : class, IHealthCheck
        => builder.AddCheck<TCheck>(name, tags: [ReadyTag]);

    internal static void Map(WebApplication app, IReadOnlyList<int> httpPorts)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync })
            .RequireLocalPort(httpPorts);
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync })
            .RequireLocalPort(httpPorts);
        app.MapPrometheusScrapingEndpoint("/metrics").RequireLocalPort(httpPorts);
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        }, cancellationToken: context.RequestAborted);
    }
}
