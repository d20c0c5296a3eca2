using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Tiered.AdminApi.Endpoints;

/// <summary>/admin/v2/brokers: this broker's health, for load balancers and Kubernetes probes.</summary>
internal static class BrokerEndpoints
{
    public static void Map(RouteGroupBuilder admin, AdminContext context)
    {
        admin.MapGet("/brokers/health", IResult () => context.IsReady()
                ? TypedResults.Text("ok", "text/plain")
                : AdminProblems.Problem(StatusCodes.Status503ServiceUnavailable, "unavailable", "Not ready", "The broker is not ready to serve yet (starting or stopping)."))
            .WithTags("brokers")
            .Produces<string>(StatusCodes.Status200OK, "text/plain")
            .WithSummary("200 \"ok\" when this broker is ready to serve, else 503.");
    }
}
