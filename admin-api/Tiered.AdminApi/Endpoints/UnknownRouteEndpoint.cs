using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;

namespace Tiered.AdminApi.Endpoints;

/// <summary>
/// What answers a request under /admin/v2 (or /lookup/v2) that no endpoint takes: 405 with the allowed methods
/// when the path exists with other methods, else 404 saying the API has no such path. Without
/// it, routing answers an empty 404, which reads like "namespace not found".
/// </summary>
internal static class UnknownRouteEndpoint
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var routes = new Lazy<IReadOnlyList<(TemplateMatcher Matcher, IReadOnlyList<string> Methods)>>(() => AdminRoutes(app));
        // Routing's content-type step gives requests without a Content-Type only to the endpoints that accept
        // */* when one does: declaring JSON (not */*) keeps this fallback from taking those of the endpoints with a body.
        foreach (var prefix in (string[])[AdminApi.Prefix, AdminApi.LookupPrefix])
        {
            app.MapFallback(prefix + "/{**path}", (HttpContext http) => Answer(http, routes.Value))
                .WithMetadata(new AcceptsMetadata(["application/json"], isOptional: true))
                .ExcludeFromDescription();
        }
    }

    private static IResult Answer(HttpContext http, IReadOnlyList<(TemplateMatcher Matcher, IReadOnlyList<string> Methods)> routes)
    {
        var path = http.Request.Path;
        var allowed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (matcher, methods) in routes)
        {
            if (matcher.TryMatch(path, new RouteValueDictionary()))
                allowed.UnionWith(methods);
        }
        var shown = path.Value is { Length: > 200 } text ? text[..200] + "…" : path.Value;
        if (allowed.Contains(http.Request.Method))
        {
            return AdminProblems.Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
                $"{http.Request.Method} {shown} takes a JSON body: send it with Content-Type: application/json.");
        }
        if (allowed.Count > 0)
        {
            http.Response.Headers.Allow = string.Join(", ", allowed);
            return AdminProblems.Problem(StatusCodes.Status405MethodNotAllowed, "method-not-allowed", "Method not allowed",
                $"{http.Request.Method} is not supported on {shown}; use {string.Join(" or ", allowed)}.");
        }
        return AdminProblems.Problem(StatusCodes.Status404NotFound, "api-not-found", "API not found",
            $"The admin API has no endpoint {http.Request.Method} {shown}; the endpoints are listed in the OpenAPI document.");
    }

    /// <summary>Every mapped /admin/v2 and /lookup/v2 endpoint's route and methods (read once: endpoints do not change after startup).</summary>
    private static List<(TemplateMatcher, IReadOnlyList<string>)> AdminRoutes(IEndpointRouteBuilder app)
        => [.. app.DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } route
                && (route.StartsWith(AdminApi.Prefix, StringComparison.Ordinal) || route.StartsWith(AdminApi.LookupPrefix, StringComparison.Ordinal))
                && e.Metadata.GetMetadata<HttpMethodMetadata>() is { HttpMethods.Count: > 0 })
            .Select(e => (new TemplateMatcher(new RouteTemplate(e.RoutePattern), new RouteValueDictionary()),
                e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods))];
}
