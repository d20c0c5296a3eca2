using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;

namespace Tiered.Operator.Tests.ApiServerDouble;

/// <summary>The double's watches: every stored change is published to the open watch streams that match it.</summary>
public sealed partial class KubeApiDouble
{
    private void Publish(WatchEvent e)
    {
        _history.Add(e);
        var changed = _changed;
        _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
        foreach (var w in _watchers)
            w.Writer.TryWrite(e);
    }

    private async Task WatchAsync(HttpContext context, ApiPath path)
    {
        var channel = Channel.CreateUnbounded<WatchEvent>();
        var since = long.TryParse(context.Request.Query["resourceVersion"], CultureInfo.InvariantCulture, out var v) ? v : 0;
        var selector = context.Request.Query["labelSelector"].ToString();
        var timeout = int.TryParse(context.Request.Query["timeoutSeconds"], CultureInfo.InvariantCulture, out var t) ? TimeSpan.FromSeconds(t) : TimeSpan.FromMinutes(30);
        var initial = new List<WatchEvent>();
        lock (_lock)
        {
            if (since == 0)
            {
                // No resourceVersion: the current objects arrive as ADDED first, as with the API server.
                initial.AddRange(_objects.Where(kv => Matches(kv.Key, path)).Select(kv => new WatchEvent(kv.Key, "ADDED", (JsonObject)kv.Value.DeepClone(), 0)));
            }
            else
            {
                initial.AddRange(_history.Where(e => e.ResourceVersion > since && Matches(e.Key, path)));
            }
            _watchers.Add(channel);
        }
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        stop.CancelAfter(timeout);
        try
        {
            await response.StartAsync(stop.Token);
            foreach (var e in initial)
            {
                if (MatchesSelector(e.Object, selector))
                    await WriteEvent(response, e, stop.Token);
            }
            await foreach (var e in channel.Reader.ReadAllAsync(stop.Token))
            {
                if (Matches(e.Key, path) && MatchesSelector(e.Object, selector))
                    await WriteEvent(response, e, stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away or the watch timed out; either way the stream ends.
        }
        finally
        {
            lock (_lock) _watchers.Remove(channel);
        }
    }

    private static async Task WriteEvent(HttpResponse response, WatchEvent e, CancellationToken token)
    {
        var line = new JsonObject { ["type"] = e.Type, ["object"] = e.Object.DeepClone() }.ToJsonString() + "\n";
        await response.WriteAsync(line, token);
        await response.Body.FlushAsync(token);
    }

    private static bool Matches(ObjectKey key, ApiPath path) =>
        key.Plural == path.Plural && (path.Namespace is null || key.Namespace == path.Namespace);

    private static bool MatchesSelector(JsonObject o, string? selector)
    {
        if (string.IsNullOrEmpty(selector))
            return true;
        var labels = o["metadata"]?["labels"]?.AsObject();
        foreach (var term in selector.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = term.Split('=', 2);
            if (parts.Length != 2 || labels?[parts[0].Trim()]?.GetValue<string>() != parts[1].Trim())
                return false;
        }
        return true;
    }
}
