namespace Tiered.Broker;

/// <summary>What went wrong, stable for clients: the admin API maps it to an HTTP status, the gRPC service to a status code.</summary>
public enum BrokerErrorCode
{
    /// <summary>400 / INVALID_ARGUMENT: a malformed name or request.</summary>
    BadName,
    BadRequest,

    /// <summary>404 / NOT_FOUND.</summary>
    TenantNotFound,
    NamespaceNotFound,
    TopicNotFound,
    SubscriptionNotFound,
    ClusterNotFound,
    BundleNotFound,

    /// <summary>409 / ALREADY_EXISTS.</summary>
    AlreadyExists,

    /// <summary>409 / FAILED_PRECONDITION: in use (connected clients, topics in a namespace), wrong subscription type.</summary>
    Conflict,

    /// <summary>412: the stored version changed meanwhile.</summary>
    VersionConflict,

    /// <summary>503 / UNAVAILABLE: storage unreachable, broker starting or stopping.</summary>
    Unavailable,

    /// <summary>404 / NOT_FOUND: no message at that id or position.</summary>
    MessageNotFound,

    /// <summary>401 / UNAUTHENTICATED: authentication is on and the request has no valid token.</summary>
    Unauthenticated,

    /// <summary>403 / PERMISSION_DENIED: the request's role may not do what it asked.</summary>
    PermissionDenied,
}

/// <summary>A request the broker refuses or cannot serve; the message says why and what to do.</summary>
public sealed class BrokerException(BrokerErrorCode code, string message, Exception? inner = null) : Exception(message, inner)
{
    public BrokerErrorCode Code { get; } = code;
}
