using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;

namespace Tiered.AdminApi.Endpoints;

/// <summary>
/// Pulsar's LookupData: where to connect for a topic. Tiered's broker URL is its gRPC URL (what the
/// gRPC Lookup answers), so brokerUrl and nativeUrl are the same; the TLS fields repeat an https URL
/// and are null otherwise (every field is written, nulls included, as Pulsar's clients read them).
/// </summary>
internal sealed record LookupData(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string BrokerUrl,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? BrokerUrlTls,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string HttpUrl,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? HttpUrlTls,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string NativeUrl)
{
    public static LookupData Of(BrokerUrls owner) => new(owner.GrpcUrl, TlsOrNull(owner.GrpcUrl), owner.HttpUrl, TlsOrNull(owner.HttpUrl), owner.GrpcUrl);

    private static string? TlsOrNull(string url) => url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? url : null;
}

/// <summary>
/// /lookup/v2/topic/persistent/{tenant}/{namespace}/{topic}: Pulsar's HTTP lookup, answered as the
/// gRPC Lookup answers (<see cref="ITopicAdmin.LookupAsync"/>: the bundle's owner, acquiring it when
/// nobody owns it), and …/bundle: the bundle the topic falls in.
/// </summary>
internal static class LookupEndpoints
{
    private const string Topic = "/topic/{domain}/{tenant}/{namespace}/{topic}";

    public static void Map(RouteGroupBuilder lookup, AdminContext context)
    {
        lookup = lookup.MapGroup("").WithTags("lookup");
        lookup.MapGet(Topic, async Task<Ok<LookupData>> (string domain, string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, domain, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var found = await context.Topics.LookupAsync(name, ct).ConfigureAwait(false);
            return TypedResults.Ok(LookupData.Of(found.Owner));
        }).WithSummary("The broker serving the topic: {\"brokerUrl\", \"httpUrl\", \"nativeUrl\", \"brokerUrlTls\", \"httpUrlTls\"} (broker and native URLs are its gRPC URL); an unowned bundle is acquired, as the gRPC Lookup does. Only persistent topics.");

        lookup.MapGet(Topic + "/bundle", async Task<ContentHttpResult> (string domain, string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, domain, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var stored = await context.Store.GetAsync<NamespacePolicies>(MetadataPaths.Namespace(name.Namespace), ct).ConfigureAwait(false)
                ?? throw NamespaceEndpoints.NotFound(name.Namespace);
            return TypedResults.Text(new NamespaceBundles(name.Namespace, stored.Value.Bundles?.Parsed).Find(name).Range, "text/plain");
        }).Produces<string>(StatusCodes.Status200OK, "text/plain")
          .WithSummary("The range of the bundle the topic falls in (text: 0x…_0x…), from the namespace's current bundles.");
    }

    /// <summary>A valid persistent topic name in a namespace that exists, else BadName/BadRequest or NamespaceNotFound.</summary>
    private static async Task<TopicName> TopicAsync(AdminContext context, string domain, string tenant, string @namespace, string topic, CancellationToken ct)
    {
        if (domain != "persistent")
        {
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Topic domain {Names.Quote(domain)} is not served: Tiered's topics are persistent; use /lookup/v2/topic/persistent/{{tenant}}/{{namespace}}/{{topic}}.");
        }
        var name = AdminNames.Topic(tenant, @namespace, topic);
        await NamespaceEndpoints.EnsureExistsAsync(context, name.Namespace, ct).ConfigureAwait(false);
        return name;
    }
}
