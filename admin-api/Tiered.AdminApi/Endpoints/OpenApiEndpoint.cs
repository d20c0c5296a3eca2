using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Tiered.AdminApi.Endpoints;

/// <summary>The OpenAPI 3.1 document generated from the admin endpoints themselves, at one fixed path.</summary>
internal static class OpenApiEndpoint
{
    public static void Map(IEndpointRouteBuilder app, string path)
    {
        app.MapGet(path, async (HttpContext http) =>
        {
            var provider = http.RequestServices.GetRequiredKeyedService<IOpenApiDocumentProvider>(AdminApi.OpenApiDocument);
            var document = await provider.GetOpenApiDocumentAsync(http.RequestAborted).ConfigureAwait(false);
            var json = await document.SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_1, http.RequestAborted).ConfigureAwait(false);
            return Results.Text(json, "application/json");
        }).ExcludeFromDescription();
    }
}
