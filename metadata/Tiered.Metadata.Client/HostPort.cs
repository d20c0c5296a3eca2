using System.Net;

namespace Tiered.Metadata;

/// <summary>The HOST:PORT addresses every role listens on (metadata, bookie, broker).</summary>
public static class HostPort
{
    /// <summary>Parses HOST:PORT where HOST is an IP address or "localhost"; the error names <paramref name="option"/>.</summary>
    public static IPEndPoint Parse(string value, string option)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            throw new ArgumentException($"{option}: '{value}' is not HOST:PORT (for example 127.0.0.1:2181).");
        var host = value[..colon].Trim('[', ']');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            return new IPEndPoint(IPAddress.Loopback, port);
        if (!IPAddress.TryParse(host, out var address))
            throw new ArgumentException($"{option}: '{host}' is not an IP address; use a numeric address such as 127.0.0.1.");
        return new IPEndPoint(address, port);
    }
}
