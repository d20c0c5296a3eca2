using System.Net;
using System.Net.Sockets;

namespace Tiered.Hosting;

/// <summary>
/// A HOST:PORT address as configured (metadata, bookie, broker, Raft peers): the host stays a name until the
/// address is used, so that a name which moves to another IP (a rescheduled container) is followed. Clients put
/// it into a URL (<see cref="ToUri"/>: gRPC resolves it per connection); servers resolve it when they bind
/// (<see cref="ResolveAsync"/>); Raft peers use <see cref="ToEndPoint"/> (a <see cref="DnsEndPoint"/> for a name).
/// </summary>
public readonly record struct HostPort(string Host, int Port)
{
    /// <summary>
    /// Parses HOST:PORT where HOST is an IP address (IPv6 in brackets) or a host name; the error names
    /// <paramref name="option"/>. Nothing is resolved here.
    /// </summary>
    public static HostPort Parse(string value, string option)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            throw new ArgumentException($"{option}: '{value}' is not HOST:PORT (for example 127.0.0.1:2181).");
        var host = value[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
            host = host[1..^1];
        else if (host.Contains(':', StringComparison.Ordinal))
            throw new ArgumentException($"{option}: '{value}' is not HOST:PORT; write an IPv6 address in brackets, as in [::1]:2181.");
        if (IPAddress.TryParse(host, out var address))
            return new HostPort(address.ToString(), port);
        if (Uri.CheckHostName(host) != UriHostNameType.Dns)
            throw new ArgumentException($"{option}: '{host}' is neither an IP address nor a host name; use a numeric address such as 127.0.0.1 or a DNS name.");
        // DNS names compare without case; one spelling keeps Raft member and bookie identities equal.
        return new HostPort(host.ToLowerInvariant(), port);
    }

    /// <summary>The host as an IP address when it is one, else null (a name).</summary>
    public IPAddress? Address => IPAddress.TryParse(Host, out var address) ? address : null;

    /// <summary>True for 0.0.0.0 and ::: a bind address meaning "every interface", never one to advertise.</summary>
    public bool IsWildcard => Address is { } a && (a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any));

    /// <summary>HOST:PORT, an IPv6 host in brackets: what every gRPC stack dials and what <see cref="Parse"/> reads back.</summary>
    public override string ToString() => Address is { AddressFamily: AddressFamily.InterNetworkV6 } ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>http://HOST:PORT (or https://): the form GrpcChannel.ForAddress takes; the name is resolved per connection.</summary>
    public Uri ToUri(bool tls = false) => new($"{(tls ? "https" : "http")}://{this}");

    /// <summary>An <see cref="IPEndPoint"/> for an IP host, a <see cref="DnsEndPoint"/> for a name (resolved by each connect).</summary>
    public EndPoint ToEndPoint() => Address is { } address ? new IPEndPoint(address, Port) : new DnsEndPoint(Host, Port);

    /// <summary>
    /// The addresses to bind: the IP itself (0.0.0.0 and :: included, as given), "localhost" as the loopback
    /// addresses, or every address the name resolves to now.
    /// </summary>
    /// <exception cref="ArgumentException">The name does not resolve; the message names <paramref name="option"/>.</exception>
    public async Task<IPEndPoint[]> ResolveAsync(string option, CancellationToken cancellationToken = default)
    {
        if (Address is { } address)
            return [new IPEndPoint(address, Port)];
        try
        {
            return EndPoints(await Dns.GetHostAddressesAsync(Host, cancellationToken).ConfigureAwait(false), option);
        }
        catch (SocketException e)
        {
            throw Unresolvable(option, e);
        }
    }

    /// <summary>As <see cref="ResolveAsync"/>, blocking: for the server's bind, which configures its endpoints synchronously at start.</summary>
    public IPEndPoint[] Resolve(string option)
    {
        if (Address is { } address)
            return [new IPEndPoint(address, Port)];
        try
        {
            return EndPoints(Dns.GetHostAddresses(Host), option);
        }
        catch (SocketException e)
        {
            throw Unresolvable(option, e);
        }
    }

    private IPEndPoint[] EndPoints(IPAddress[] resolved, string option)
    {
        if (resolved.Length == 0)
            throw new ArgumentException($"{option}: the host name '{Host}' resolves to no address; check the name or use an IP address.");
        var port = Port;
        return [.. resolved.Distinct().OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1).Select(a => new IPEndPoint(a, port))];
    }

    private ArgumentException Unresolvable(string option, SocketException e)
        => new($"{option}: the host name '{Host}' does not resolve ({e.SocketErrorCode}); check the name or use an IP address.", e);

    /// <summary>The first address <see cref="ResolveAsync"/> finds (IPv4 first): for APIs that bind one endpoint only.</summary>
    public async Task<IPEndPoint> ResolveOneAsync(string option, CancellationToken cancellationToken = default)
        => (await ResolveAsync(option, cancellationToken).ConfigureAwait(false))[0];

}
