using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Tiered.Broker;
using Tiered.Broker.Ownership;
using Tiered.Metadata;

namespace Tiered.AdminApi;

/// <summary>
/// Turns every refusal and failure of an admin endpoint into RFC 7807 problem details
/// (application/problem+json: type, title, status, detail = the reason), which also carry the
/// reason as Pulsar's <c>reason</c> field so that pulsar-admin-style tools show it. A topic another
/// broker owns is answered 307 Temporary Redirect to the same path and query on the owner's HTTP
/// URL, as Pulsar's brokers do (307 keeps the method and body).
/// </summary>
internal static class AdminProblems
{
    public const string TypePrefix = "urn:tiered:problem:";

    /// <summary>An endpoint filter for the whole /admin/v2 group.</summary>
    public static EndpointFilterDelegate Filter(ILogger logger, EndpointFilterDelegate next) => async context =>
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (OwnedElsewhereException e)
        {
            var request = context.HttpContext.Request;
            var location = e.Owner.HttpUrl.TrimEnd('/') + request.PathBase + request.Path + request.QueryString;
            logger.Redirected(request.Method, request.Path.Value ?? "", location);
            return Results.Redirect(location, permanent: false, preserveMethod: true);
        }
        catch (AdminRefusalException e)
        {
            logger.Refused(context.HttpContext.Request.Method, context.HttpContext.Request.Path.Value ?? "", e.Status, e.Message);
            return Problem(e.Status, e.Type, e.Title, e.Message);
        }
        catch (BrokerException e)
        {
            var (status, type, title) = Describe(e.Code);
            logger.Refused(context.HttpContext.Request.Method, context.HttpContext.Request.Path.Value ?? "", status, e.Message);
            return Problem(status, type, title, e.Message);
        }
        catch (MetadataException e)
        {
            var (status, type, title) = Describe(e.Code);
            logger.MetadataFailed(context.HttpContext.Request.Method, context.HttpContext.Request.Path.Value ?? "", e.Code, e.Message);
            return Problem(status, type, title, e.Message);
        }
        catch (BadHttpRequestException e)
        {
            logger.Refused(context.HttpContext.Request.Method, context.HttpContext.Request.Path.Value ?? "", e.StatusCode, e.Message);
            return Problem(e.StatusCode, "bad-request", "Bad request", e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            logger.Failed(context.HttpContext.Request.Method, context.HttpContext.Request.Path.Value ?? "", e);
            return Problem(StatusCodes.Status500InternalServerError, "internal-error", "Internal error", e.Message);
        }
    };

    public static IResult Problem(int status, string type, string title, string detail)
        => Results.Problem(detail: detail, statusCode: status, title: title, type: TypePrefix + type,
            extensions: new Dictionary<string, object?>(StringComparer.Ordinal) { ["reason"] = detail });

    public static (int Status, string Type, string Title) Describe(BrokerErrorCode code) => code switch
    {
        BrokerErrorCode.BadName => (StatusCodes.Status400BadRequest, "bad-name", "Invalid name"),
        BrokerErrorCode.BadRequest => (StatusCodes.Status400BadRequest, "bad-request", "Bad request"),
        BrokerErrorCode.TenantNotFound => (StatusCodes.Status404NotFound, "tenant-not-found", "Tenant not found"),
        BrokerErrorCode.NamespaceNotFound => (StatusCodes.Status404NotFound, "namespace-not-found", "Namespace not found"),
        BrokerErrorCode.TopicNotFound => (StatusCodes.Status404NotFound, "topic-not-found", "Topic not found"),
        BrokerErrorCode.SubscriptionNotFound => (StatusCodes.Status404NotFound, "subscription-not-found", "Subscription not found"),
        BrokerErrorCode.ClusterNotFound => (StatusCodes.Status404NotFound, "cluster-not-found", "Cluster not found"),
        BrokerErrorCode.BundleNotFound => (StatusCodes.Status404NotFound, "bundle-not-found", "Bundle not found"),
        BrokerErrorCode.MessageNotFound => (StatusCodes.Status404NotFound, "message-not-found", "Message not found"),
        BrokerErrorCode.AlreadyExists => (StatusCodes.Status409Conflict, "already-exists", "Already exists"),
        BrokerErrorCode.Conflict => (StatusCodes.Status409Conflict, "conflict", "In use"),
        BrokerErrorCode.VersionConflict => (StatusCodes.Status412PreconditionFailed, "version-conflict", "Changed concurrently"),
        BrokerErrorCode.Unavailable => (StatusCodes.Status503ServiceUnavailable, "unavailable", "Unavailable"),
        BrokerErrorCode.Unauthenticated => (StatusCodes.Status401Unauthorized, "unauthenticated", "Authentication required"),
        BrokerErrorCode.PermissionDenied => (StatusCodes.Status403Forbidden, "permission-denied", "Permission denied"),
        _ => (StatusCodes.Status500InternalServerError, "internal-error", "Internal error"),
    };

    public static (int Status, string Type, string Title) Describe(MetadataErrorCode code) => code switch
    {
        MetadataErrorCode.BadKey => (StatusCodes.Status400BadRequest, "bad-name", "Invalid name"),
        MetadataErrorCode.ValueTooLarge or MetadataErrorCode.InvalidArgument => (StatusCodes.Status400BadRequest, "bad-request", "Bad request"),
        MetadataErrorCode.BadVersion => (StatusCodes.Status412PreconditionFailed, "version-conflict", "Changed concurrently"),
        _ => (StatusCodes.Status503ServiceUnavailable, "metadata-unavailable", "Metadata service unavailable"),
    };
}

/// <summary>
/// A refusal whose HTTP status has no <see cref="BrokerErrorCode"/> because only the admin API answers it,
/// with the status Pulsar answers for the same refusal (e.g. 403 for a replication cluster the tenant may not use).
/// </summary>
internal sealed class AdminRefusalException(int status, string type, string title, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Type { get; } = type;

    public string Title { get; } = title;

    /// <summary>403, as Pulsar: a cluster that is not registered, or not allowed for the tenant.</summary>
    public static AdminRefusalException ClusterNotAllowed(string message) => new(StatusCodes.Status403Forbidden, "cluster-not-allowed", "Cluster not allowed", message);

    /// <summary>412, as Pulsar: a request that is well-formed but not acceptable in the present state (an empty replication list, a cluster still in use).</summary>
    public static AdminRefusalException PreconditionFailed(string message) => new(StatusCodes.Status412PreconditionFailed, "precondition-failed", "Precondition failed", message);
}
