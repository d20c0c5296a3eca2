using System.CommandLine;
using System.Text;
using Microsoft.Extensions.Logging;
using Tiered.Client;

namespace Tiered.Cli.Messaging;

/// <summary>Arguments and options that the produce, consume and perf commands share, each validated with a message that says what to fix.</summary>
internal static class ClientCommandLine
{
    public static Argument<string> Topic() => new("TOPIC")
    {
        Description = "The topic: persistent://tenant/namespace/topic, tenant/namespace/topic, or a short name in public/default.",
    };

    public static Option<string> Url()
    {
        var option = new Option<string>("--url", "--service-url")
        {
            HelpName = "URL",
            Description = "gRPC address of any broker, where the topic is looked up; or several, comma separated "
                + "(http://host-1:6650,host-2:6650,host-3:6650), asked in turn when one is down.",
            DefaultValueFactory = _ => TieredClientOptions.DefaultServiceUrl,
        };
        option.Validators.Add(result =>
        {
            if (!ServiceUrls.TryParse(result.GetValueOrDefault<string>(), out _, out var error))
                result.AddError($"--url {error}");
        });
        return option;
    }

    public static Option<int> Positive(string name, string helpName, string description, int defaultValue)
    {
        var option = new Option<int>(name) { HelpName = helpName, Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
                result.AddError($"{name} must be 1 or more.");
        });
        return option;
    }

    public static Option<double> NotNegative(string name, string helpName, string description, double defaultValue)
    {
        var option = new Option<double>(name) { HelpName = helpName, Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<double>();
            if (value < 0 || !double.IsFinite(value))
                result.AddError($"{name} must be 0 or more.");
        });
        return option;
    }

    public static Option<SubscriptionType> SubscriptionTypeOption()
    {
        var option = new Option<SubscriptionType>("--type")
        {
            Description = "How consumers of the subscription share its messages: Exclusive, Shared, Failover or KeyShared (each key's messages to one consumer, in order).",
            DefaultValueFactory = _ => SubscriptionType.Exclusive,
        };
        return option;
    }

    /// <summary><c>--key-hash-range START-END</c>, repeatable: the key hashes a Key_Shared consumer takes (STICKY).</summary>
    public static Option<KeyHashRange[]> KeyHashRangeOption()
    {
        var option = new Option<KeyHashRange[]>("--key-hash-range")
        {
            HelpName = "START-END",
            Description = "KeyShared: take the key hashes START to END (both included, within 0-65535) rather than a share the broker picks; "
                + "repeat for several ranges. A range another connected consumer holds is refused.",
            AllowMultipleArgumentsPerToken = false,
            CustomParser = result =>
            {
                var ranges = new List<KeyHashRange>();
                foreach (var token in result.Tokens)
                {
                    var dash = token.Value.IndexOf('-', 1);
                    if (dash > 0 && int.TryParse(token.Value.AsSpan(0, dash), out var start) && int.TryParse(token.Value.AsSpan(dash + 1), out var end)
                        && start >= 0 && end <= 65535 && start <= end)
                        ranges.Add(new KeyHashRange(start, end));
                    else
                        result.AddError($"--key-hash-range {token.Value}: give START-END with 0 ≤ START ≤ END ≤ 65535, e.g. 0-32767.");
                }
                return [.. ranges];
            },
        };
        return option;
    }

    /// <summary>
    /// The error line for a failed command; names the likely mistake when --url is (or, of several, names) an HTTP/1.1-only port. The
    /// server's HTTP_1_1_REQUIRED answer can be lost to its connection reset (seen on busy machines), so a call
    /// that failed before any gRPC status asks the URL once over HTTP/1.1: an answer means it is no gRPC port.
    /// </summary>
    public static async Task<string> ErrorMessageAsync(Exception e, string url)
    {
        if (e is not TieredClientException failure)
            return e.Message;
        var hosts = ServiceUrls.Parse(url);
        if (failure.ServerRefusedHttp2 && hosts.Count == 1)
            return AdminPortMessage(hosts[0]);
        if (failure.ServerRefusedHttp2 || HasHttpRequestError(e))
        {
            // With several hosts, the one that answers HTTP/1.1 is the mistake to name.
            foreach (var host in hosts)
            {
                if (await AnswersHttp11Async(host))
                    return AdminPortMessage(host);
            }
        }
        return e.Message;
    }

    private static string AdminPortMessage(string host)
        => $"--url {Endpoint(new Uri(host))} looks like the admin REST port (HTTP/1.1; it refused HTTP/2): --url wants a broker's gRPC port (default 6650); the admin port goes to tiered admin --admin-url.";

    private static bool HasHttpRequestError(Exception? e)
    {
        for (var depth = 0; e is not null && depth < 8; depth++)
        {
            if (e is HttpRequestException)
                return true;
            e = e is Grpc.Core.RpcException { Status.DebugException: { } debug } ? debug : e.InnerException;
        }
        return false;
    }

    private static async Task<bool> AnswersHttp11Async(string url)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            using var request = new HttpRequestMessage(HttpMethod.Get, url) { Version = System.Net.HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            using var response = await http.SendAsync(request);
            return response.Version.Major == 1;
        }
        catch (Exception probe) when (probe is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>host:port of a URL given on the command line, shortened if it is very long (it goes into error messages).</summary>
    public static string Endpoint(Uri url)
    {
        var endpoint = $"{url.Host}:{url.Port}";
        return endpoint.Length <= 100 ? endpoint : endpoint[..100] + "…";
    }

    /// <summary>
    /// A client of <paramref name="url"/> with the token of --token or --token-file (the client falls back on TIERED_TOKEN
    /// itself) and the TLS files of <see cref="TlsTrustOption"/>.
    /// </summary>
    public static TieredClient CreateClient(string url, ILoggerFactory loggerFactory, ParseResult parseResult) =>
        new(new TieredClientOptions
        {
            ServiceUrl = url,
            LoggerFactory = loggerFactory,
            Token = parseResult.GetValue(TokenOptions.Token),
            TokenFile = parseResult.GetValue(TokenOptions.TokenFile),
            TlsTrustCertsFile = parseResult.GetValue(TlsTrustOption.TrustCertsFile),
            TlsCertificateFile = parseResult.GetValue(TlsTrustOption.CertFile),
            TlsKeyFile = parseResult.GetValue(TlsTrustOption.KeyFile),
        });

    /// <summary>The payload as text when it is printable UTF-8, else its size and first bytes in hex.</summary>
    public static string Describe(ReadOnlySpan<byte> payload)
    {
        if (IsText(payload))
            return Encoding.UTF8.GetString(payload);
        var shown = payload[..Math.Min(payload.Length, 16)];
        return $"<{payload.Length} bytes: {Convert.ToHexString(shown).ToLowerInvariant()}{(shown.Length < payload.Length ? "…" : "")}>";
    }

    private static bool IsText(ReadOnlySpan<byte> payload)
    {
        if (!System.Text.Unicode.Utf8.IsValid(payload))
            return false;
        foreach (var b in payload)
        {
            if (b < 0x20 && b is not (byte)'\t' and not (byte)'\n' and not (byte)'\r')
                return false;
            if (b == 0x7f)
                return false;
        }
        return true;
    }
}
