using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tiered.Cli;

/// <summary>Messages answered as Pulsar answers them (the payload as the body, metadata in X-Pulsar-* headers), shown as JSON.</summary>
internal sealed partial class AdminHttp
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// GETs messages at <paramref name="paths"/> in turn and prints them as a JSON array of
    /// {"headers": {X-Pulsar-*…}, "payload": text} ("payloadBase64" when the payload is not UTF-8).
    /// A 404 after the first message ends the list; any other failure is the exit code.
    /// </summary>
    public async Task<int> GetMessagesAsync(IEnumerable<string> paths, CancellationToken cancellationToken)
    {
        var messages = new JsonArray();
        try
        {
            foreach (var path in paths)
            {
                using var response = await _http.GetAsync(path, cancellationToken);
                var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
                if (response.StatusCode == System.Net.HttpStatusCode.NotFound && messages.Count > 0)
                    break;
                if (!response.IsSuccessStatusCode)
                    return Exit.Error(Exit.Failed, Describe(response, Encoding.UTF8.GetString(body)));
                var headers = new JsonObject();
                foreach (var (name, values) in response.Headers)
                {
                    if (name.StartsWith("X-Pulsar-", StringComparison.OrdinalIgnoreCase))
                        headers[name] = string.Join(",", values);
                }
                var message = new JsonObject { ["headers"] = headers };
                try
                {
                    message["payload"] = StrictUtf8.GetString(body);
                }
                catch (DecoderFallbackException)
                {
                    message["payloadBase64"] = Convert.ToBase64String(body);
                }
                messages.Add(message);
            }
        }
        catch (HttpRequestException e)
        {
            return Exit.Error(Exit.Failed, $"cannot reach the admin API at {_http.BaseAddress}: {e.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Exit.Error(Exit.Failed, $"the admin API at {_http.BaseAddress} did not answer within {_http.Timeout.TotalSeconds:0} s");
        }
        Console.WriteLine(messages.ToJsonString(Indented));
        return Exit.Ok;
    }
}
