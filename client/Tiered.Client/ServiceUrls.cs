namespace Tiered.Client;

/// <summary>
/// A service URL that names one broker or several, as Pulsar clients accept it: <c>http://a:6650</c>,
/// <c>http://a:6650,b:6650,c:6650</c> (the scheme once, then hosts separated by commas) or
/// <c>http://a:6650,https://b:6651</c> (each host with its own scheme). Several hosts let lookups go on when
/// one broker is down: the client asks the next one (see <see cref="TieredClient.LookupAsync"/>).
/// </summary>
public static class ServiceUrls
{
    /// <summary>
    /// The URLs of the hosts <paramref name="serviceUrl"/> names, in its order; a service URL of one host comes
    /// back unchanged. Throws <see cref="ArgumentException"/> naming the part that is wrong and why.
    /// </summary>
    public static IReadOnlyList<string> Parse(string serviceUrl)
    {
        if (TryParse(serviceUrl, out var hosts, out var error))
            return hosts;
        throw new ArgumentException(error, nameof(serviceUrl));
    }

    /// <summary>Like <see cref="Parse"/>; <paramref name="error"/> says what is wrong (without naming the option: callers prefix it).</summary>
    public static bool TryParse(string? serviceUrl, out IReadOnlyList<string> hosts, out string error)
    {
        hosts = [];
        error = "";
        if (string.IsNullOrWhiteSpace(serviceUrl))
        {
            error = $"is empty; give a broker's gRPC address such as {TieredClientOptions.DefaultServiceUrl}, or several: http://host-1:6650,host-2:6650.";
            return false;
        }
        if (!serviceUrl.Contains(',', StringComparison.Ordinal))
        {
            if (!IsHttpUrl(serviceUrl))
            {
                error = $"'{serviceUrl}' is not an http:// or https:// address such as {TieredClientOptions.DefaultServiceUrl}.";
                return false;
            }
            hosts = [serviceUrl];
            return true;
        }
        var parts = serviceUrl.Split(',');
        var first = parts[0].Trim();
        var schemeEnd = first.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            error = $"'{serviceUrl}' has no scheme: start it with http:// or https://, as in http://{first},{parts[1].Trim()}.";
            return false;
        }
        var scheme = first[..schemeEnd];
        var list = new List<string>(parts.Length);
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i].Trim();
            if (part.Length == 0)
            {
                error = $"'{serviceUrl}': host {i + 1} of {parts.Length} is empty (two commas in a row, or a comma at an end).";
                return false;
            }
            var url = part.Contains("://", StringComparison.Ordinal) ? part : $"{scheme}://{part}";
            if (!IsHttpUrl(url))
            {
                error = $"'{serviceUrl}': host {i + 1} of {parts.Length}, '{part}', is not an http:// or https:// address or a host:port such as 127.0.0.1:6650.";
                return false;
            }
            list.Add(url);
        }
        hosts = list;
        return true;
    }

    private static bool IsHttpUrl(string url)
        => Uri.TryCreate(url, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.Host.Length > 0;
}
