using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Tiered.Cli;

/// <summary>
/// The HTTP side of <c>tiered admin</c>: sends one request to the admin REST API, prints a JSON
/// answer indented on stdout, and turns a refusal into <c>error: {problem detail}</c> and exit 1.
/// </summary>
internal sealed partial class AdminHttp : IDisposable
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly HttpClient _http;

    /// <param name="token">Sent as <c>Authorization: Bearer</c> on every request when given (<see cref="TokenOptions"/>).</param>
    /// <param name="tls">
    /// The CAs an https:// admin URL's certificate must chain to and the client certificate presented
    /// (<see cref="TlsTrustOption"/>); null: the system's roots, no client certificate.
    /// </param>
    public AdminHttp(Uri baseUrl, string? token = null, Tiered.Proto.Tls.ClientTls? tls = null)
    {
        var handler = new SocketsHttpHandler();
        if (tls is not null)
            handler.SslOptions = tls.ClientOptions();
        _http = new HttpClient(handler) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>A path under /admin/v2 built from segments, each escaped.</summary>
    public static string Path(params string[] segments) => "/admin/v2/" + string.Join('/', segments.Select(Uri.EscapeDataString));

    public Task<int> GetAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Get, path, null, cancellationToken);

    /// <summary>The JSON answer of a GET, not printed; on failure the exit code after printing why (and no JSON).</summary>
    public Task<(int Exit, JsonElement Json)> GetJsonAsync(string path, CancellationToken cancellationToken)
        => SendForJsonAsync(HttpMethod.Get, path, cancellationToken);

    /// <summary>The JSON answer of a request without a body, not printed; on failure the exit code after printing why (and no JSON).</summary>
    public async Task<(int Exit, JsonElement Json)> SendForJsonAsync(HttpMethod method, string path, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(method, path);
            using var response = await _http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
                return (Exit.Error(Exit.Failed, Describe(response, body)), default);
            using var document = JsonDocument.Parse(body);
            return (Exit.Ok, document.RootElement.Clone());
        }
        catch (HttpRequestException e)
        {
            return (Exit.Error(Exit.Failed, Unreachable(e)), default);
        }
        catch (JsonException e)
        {
            return (Exit.Error(Exit.Failed, $"the admin API at {_http.BaseAddress} answered {path} with something other than JSON: {e.Message}"), default);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (Exit.Error(Exit.Failed, $"the admin API at {_http.BaseAddress} did not answer within {_http.Timeout.TotalSeconds:0} s"), default);
        }
    }

    /// <summary>Prints a JSON value indented on stdout.</summary>
    public static void Print(JsonElement json) => Console.WriteLine(JsonSerializer.Serialize(json, Indented));

    /// <summary>
    /// A policy's GET: its JSON value, or, while it is unset (204), <c>null</c> on stdout (as pulsar-admin prints)
    /// and <paramref name="whenUnset"/> (what applies instead) on stderr.
    /// </summary>
    public Task<int> GetPolicyAsync(string path, string whenUnset, CancellationToken cancellationToken)
        => SendAsync(HttpMethod.Get, path, null, cancellationToken, whenUnset);

    public async Task<int> SendAsync(HttpMethod method, string path, string? jsonBody, CancellationToken cancellationToken, string? whenNoContent = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (jsonBody is not null)
            request.Content = new StringContent(jsonBody, Encoding.UTF8, "application/json");
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            return Exit.Error(Exit.Failed, Unreachable(e));
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Exit.Error(Exit.Failed, $"the admin API at {_http.BaseAddress} did not answer within {_http.Timeout.TotalSeconds:0} s");
        }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
                return Exit.Error(Exit.Failed, Describe(response, body));
            if (body.Length > 0)
            {
                Console.WriteLine(IsJson(response.Content.Headers.ContentType) ? Indent(body) : body);
            }
            else if (whenNoContent is not null && response.StatusCode == System.Net.HttpStatusCode.NoContent)
            {
                Console.WriteLine("null");
                Console.Error.WriteLine(whenNoContent);
            }
            return Exit.Ok;
        }
    }

    /// <summary>Why the admin API could not be reached; an untrusted certificate says which option fixes it.</summary>
    private string Unreachable(HttpRequestException e)
        => e.InnerException is System.Security.Authentication.AuthenticationException handshake
            ? $"cannot reach the admin API at {_http.BaseAddress}: the server certificate is not trusted ({handshake.Message}). Give the CA that signed it "
                + $"with --tls-trust-certs-file; the certificate must also name the host in --admin-url."
            : $"cannot reach the admin API at {_http.BaseAddress}: {e.Message}";

    /// <summary>N from GET …/partitions ({"partitions": N}); 0 when it cannot tell, so the caller's next request reports why.</summary>
    public async Task<int> PartitionsAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync(path, cancellationToken);
            if (!response.IsSuccessStatusCode)
                return 0;
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            return document.RootElement.TryGetProperty("partitions", out var partitions) && partitions.TryGetInt32(out var n) ? n : 0;
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return 0;
        }
    }

    /// <summary>
    /// The problem's detail when the server sent problem details, else the status and whatever it sent; the likely
    /// mistake when the URL is an HTTP/2-only port (a broker's gRPC port answers an HTTP/1.1 request with a 400).
    /// </summary>
    private string Describe(HttpResponseMessage response, string body)
    {
        if (response.StatusCode == System.Net.HttpStatusCode.BadRequest && body.Contains("HTTP/2 only endpoint", StringComparison.Ordinal))
            return $"--admin-url {Messaging.ClientCommandLine.Endpoint(_http.BaseAddress!)} looks like a broker's gRPC port (HTTP/2 only; it refused an HTTP/1.1 request): "
                + $"--admin-url wants the admin REST port (default {new Uri(AdminCommand.DefaultAdminUrl).Port}); the gRPC port goes to --url of produce, consume and perf.";
        var status = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        if (response.Content.Headers.ContentType?.MediaType is "application/problem+json" or "application/json")
        {
            try
            {
                using var problem = JsonDocument.Parse(body);
                if (problem.RootElement.ValueKind == JsonValueKind.Object
                    && problem.RootElement.TryGetProperty("detail", out var detail) && detail.GetString() is { Length: > 0 } text)
                    return $"{text} ({status})";
            }
            catch (JsonException)
            {
            }
        }
        return body.Length > 0 ? $"{status}: {body}" : status;
    }

    private static bool IsJson(MediaTypeHeaderValue? type) => type?.MediaType?.EndsWith("json", StringComparison.Ordinal) == true;

    private static string Indent(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return JsonSerializer.Serialize(document.RootElement, Indented);
        }
        catch (JsonException)
        {
            return json;
        }
    }

    public void Dispose() => _http.Dispose();
}
