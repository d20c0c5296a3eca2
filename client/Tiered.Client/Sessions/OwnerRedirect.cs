using Grpc.Core;

namespace Tiered.Client.Sessions;

/// <summary>
/// A broker's answer "this topic is served by another broker: go there". The broker fails the call with
/// UNAVAILABLE or FAILED_PRECONDITION and names the owner in the <see cref="TrailerName"/> trailer (a URL such as
/// http://broker-2:6650, or HOST:PORT). A session follows at once, without backoff, at most
/// <see cref="MaxRedirects"/> times in a row: brokers that disagree about ownership must not loop a client for ever.
/// </summary>
public static class OwnerRedirect
{
    /// <summary>The trailer that names the topic's owner.</summary>
    public const string TrailerName = "tiered-owner-url";

    /// <summary>Redirects followed in a row before the client gives up (as Pulsar clients cap lookup redirects).</summary>
    public const int MaxRedirects = 20;

    /// <summary>The owner's URL when <paramref name="failure"/> is a redirect; null otherwise.</summary>
    public static string? OwnerOf(Exception? failure)
    {
        if (failure is not RpcException { StatusCode: StatusCode.Unavailable or StatusCode.FailedPrecondition } rpc)
            return null;
        var owner = rpc.Trailers.GetValue(TrailerName);
        if (string.IsNullOrWhiteSpace(owner))
            return null;
        owner = owner.Trim();
        if (!owner.Contains("://", StringComparison.Ordinal))
            owner = "http://" + owner;
        return Uri.TryCreate(owner, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)
            ? owner
            : null;
    }

    internal static TieredClientException TooMany(string what, string topic, string last) => new(
        $"{what} on {topic} was redirected {MaxRedirects} times in a row (last to {last}): the brokers do not agree which of them serves the topic. "
        + "Check that every broker sees the same cluster (metadata service), then retry.", StatusCode.Unavailable);
}
