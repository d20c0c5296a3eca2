using System.Net;
using System.Net.Sockets;

namespace Tiered.Testing;

/// <summary>
/// A host name other than "localhost" (which code may special-case) that resolves to 127.0.0.1 only, so tests
/// can start servers and clients with names while staying on the loopback interface. Tries the machine's host
/// name, then names commonly mapped in /etc/hosts. When none resolves so, CI must map one:
/// <c>grep -q ' tiered-loopback$' /etc/hosts || echo '127.0.0.1 tiered-loopback' &gt;&gt; /etc/hosts</c>.
/// </summary>
public static class LoopbackHostName
{
    /// <summary>The name CI maps to 127.0.0.1 when the machine has none (see the summary).</summary>
    public const string Fallback = "tiered-loopback";

    private static readonly Lazy<string?> Found = new(Find);

    /// <summary>The name, or null when no name other than localhost resolves to 127.0.0.1 alone.</summary>
    public static string? Name => Found.Value;

    /// <summary>The name; fails the test with what to add to /etc/hosts when there is none.</summary>
    public static string Require() => Name ?? throw new InvalidOperationException(
        $"No host name other than localhost resolves to 127.0.0.1 on this machine; add the line '127.0.0.1 {Fallback}' to /etc/hosts.");

    private static string? Find()
    {
        string[] candidates = [Dns.GetHostName(), Fallback, "vm", "runsc"];
        foreach (var candidate in candidates)
        {
            if (string.IsNullOrEmpty(candidate) || candidate.Equals("localhost", StringComparison.OrdinalIgnoreCase))
                continue;
            try
            {
                var addresses = Dns.GetHostAddresses(candidate);
                if (addresses.Length > 0 && addresses.All(IPAddress.IsLoopback) && addresses.Any(a => a.Equals(IPAddress.Loopback)))
                    return candidate.ToLowerInvariant();
            }
            catch (SocketException)
            {
            }
        }
        return null;
    }
}
