using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.AdminApi.Endpoints;
using Tiered.Broker.Admin;
using Tiered.Broker.Ownership;
using Tiered.Ledger;
using Tiered.Metadata;

namespace Tiered.AdminApi;

/// <summary>
/// The admin REST API (Pulsar's /admin/v2 paths and JSON), hosted by every broker on its HTTP
/// port next to the gRPC service. The host calls both, on the same Kestrel server:
/// <code>
/// builder.Services.AddTieredAdmin(new AdminApiOptions { ClusterName = "standalone" });
/// var app = builder.Build();
/// app.MapTieredAdmin(metadataStore, topicAdmin, isReady: () => broker.IsReady);
/// </code>
/// Every failure is answered with problem details (RFC 7807); the OpenAPI document is at
/// <see cref="AdminApiOptions.OpenApiPath"/>.
/// </summary>
public static class AdminApi
{
    /// <summary>Name of the OpenAPI document of the admin API (one host may serve others).</summary>
    public const string OpenApiDocument = "tiered-admin";

    public const string Prefix = "/admin/v2";

    /// <summary>Pulsar's HTTP lookup service, next to the admin API: /lookup/v2/topic/persistent/{tenant}/{namespace}/{topic}.</summary>
    public const string LookupPrefix = "/lookup/v2";

    /// <summary>Registers what the admin endpoints need: the options and the OpenAPI document generator.</summary>
    public static IServiceCollection AddTieredAdmin(this IServiceCollection services, AdminApiOptions? options = null)
    {
        options ??= new AdminApiOptions();
        options.Validate();
        services.AddSingleton(options);
        services.AddOpenApi(OpenApiDocument, openApi =>
        {
            openApi.ShouldInclude = description => description.RelativePath is { } path
                && (path.StartsWith(Prefix[1..], StringComparison.Ordinal) || path.StartsWith(LookupPrefix[1..], StringComparison.Ordinal));
            openApi.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "Tiered admin API";
                document.Info.Description = "Pulsar-compatible /admin/v2 API of a Tiered broker: clusters, tenants, namespaces, their policies and bundles, persistent topics and subscriptions; and Pulsar's HTTP topic lookup (/lookup/v2).";
                document.Info.Version = "v2";
                return Task.CompletedTask;
            });
        });
        return services;
    }

    /// <summary>
    /// Maps every /admin/v2 endpoint. <paramref name="metadata"/> holds clusters, tenants and namespaces;
    /// <paramref name="topics"/> answers for topics and subscriptions; <paramref name="isReady"/> decides
    /// whether GET /admin/v2/brokers/health answers 200 "ok" or 503. The bookies' own reports (disk use)
    /// are asked through the <see cref="IBookieInfoReader"/> registered in the host's services.
    /// <paramref name="ownership"/> unloads bundles and lists their owners (split, unload,
    /// ownedNamespaces); null: the <see cref="IOwnershipGate"/> of the host's services, if any (without
    /// one those endpoints answer 503).
    /// </summary>
    public static IEndpointRouteBuilder MapTieredAdmin(this IEndpointRouteBuilder app, IMetadataStore metadata, ITopicAdmin topics, Func<bool> isReady,
        IOwnershipGate? ownership = null)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(isReady);
        _ = app.ServiceProvider.GetService<AdminApiOptions>()
            ?? throw new InvalidOperationException("Call services.AddTieredAdmin(...) before app.MapTieredAdmin(...).");
        var bookies = app.ServiceProvider.GetService<IBookieInfoReader>()
            ?? throw new InvalidOperationException("Register an IBookieInfoReader (the broker's LedgerClient; AddTieredBroker does) before app.MapTieredAdmin(...).");
        return app.MapTieredAdmin(() => metadata, () => topics, isReady, () => bookies, () => ownership ?? app.ServiceProvider.GetService<IOwnershipGate>());
    }

    /// <summary>
    /// Maps every /admin/v2 endpoint (and Pulsar's /lookup/v2) over services looked up on the first
    /// request (in a host, the broker and the metadata node start after the endpoints are mapped).
    /// </summary>
    internal static IEndpointRouteBuilder MapTieredAdmin(this IEndpointRouteBuilder app, Func<IMetadataStore> metadata, Func<ITopicAdmin> topics, Func<bool> isReady, Func<IBookieInfoReader> bookies,
        Func<IOwnershipGate?> ownership)
    {
        var options = app.ServiceProvider.GetService<AdminApiOptions>()
            ?? throw new InvalidOperationException("Call services.AddTieredAdmin(...) before app.MapTieredAdmin(...).");
        var logger = app.ServiceProvider.GetService<ILoggerFactory>()?.CreateLogger("Tiered.AdminApi") ?? NullLogger.Instance;
        var context = new AdminContext(() => new AdminStore(metadata()), topics, options, isReady, bookies, ownership);

        var admin = WithProblems(app.MapGroup(Prefix), logger);
        ClusterEndpoints.Map(admin, context);
        TenantEndpoints.Map(admin, context);
        NamespaceEndpoints.Map(admin, context);
        TopicEndpoints.Map(admin, context);
        BrokerEndpoints.Map(admin, context);
        ClusterViewEndpoints.Map(admin, context);
        BookieDecommissionEndpoints.Map(admin, context);
        BundleEndpoints.Map(admin, context);
        LookupEndpoints.Map(WithProblems(app.MapGroup(LookupPrefix), logger), context);
        OpenApiEndpoint.Map(app, options.OpenApiPath);
        UnknownRouteEndpoint.Map(app);
        return app;
    }

    /// <summary>
    /// Every refusal of the group's endpoints as problem details (and 307 to a topic's owner), with the problem answers
    /// declared for OpenAPI; who may call each endpoint is checked first (<see cref="AdminAccess"/>).
    /// </summary>
    private static RouteGroupBuilder WithProblems(RouteGroupBuilder group, ILogger logger)
    {
        group.AddEndpointFilterFactory((_, next) => AdminProblems.Filter(logger, next))
            .AddEndpointFilterFactory(AdminAccess.Filter)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return group;
    }
}
