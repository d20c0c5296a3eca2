using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Tiered.Operator.Tests.ApiServerDouble;

/// <summary>
/// A Kubernetes API server double: real HTTP on 127.0.0.1 that the real KubernetesClient talks to, because no
/// kube-apiserver can run on this machine. It is not a mock of calls: it keeps the API server's semantics for
/// the kinds the operator uses — resourceVersion with 409 on a stale update, 404, 409 AlreadyExists, list with
/// label selectors, watches (<c>?watch=true</c>, one JSON event per line), the status subresource (a write of the
/// object keeps its status, a write of <c>/status</c> keeps the rest, generation bumps only when the spec
/// changes), finalizers (a delete only sets deletionTimestamp while finalizers remain) and garbage collection
/// of dependents through ownerReferences. Optionally (<see cref="Workloads"/>) it also plays the parts of the
/// StatefulSet and Deployment controllers and the kubelet, with pod readiness under the test's control.
/// What it does not do: admission, defaulting, schema validation, RBAC, field selectors, patches other than
/// merge patches.
/// </summary>
public sealed partial class KubeApiDouble : IAsyncDisposable
{
    private static readonly Dictionary<string, (string Kind, bool HasStatus)> Kinds = new()
    {
        ["statefulsets"] = ("StatefulSet", true),
        ["deployments"] = ("Deployment", true),
        ["services"] = ("Service", true),
        ["configmaps"] = ("ConfigMap", false),
        ["secrets"] = ("Secret", false),
        ["poddisruptionbudgets"] = ("PodDisruptionBudget", true),
        ["leases"] = ("Lease", false),
        ["pods"] = ("Pod", true),
        ["persistentvolumeclaims"] = ("PersistentVolumeClaim", true),
        ["tieredclusters"] = ("TieredCluster", true),
        ["tieredtenants"] = ("TieredTenant", true),
        ["tierednamespaces"] = ("TieredNamespace", true),
        ["tieredtopics"] = ("TieredTopic", true),
    };

    private readonly object _lock = new();
    private readonly Dictionary<ObjectKey, JsonObject> _objects = [];
    private readonly List<WatchEvent> _history = [];
    private readonly List<Channel<WatchEvent>> _watchers = [];
    private readonly List<AuditRecord> _audit = [];
    private readonly List<Func<AuditRecord, bool>> _beforeWrite = [];
    private long _resourceVersion = 1000;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;

    /// <summary>The StatefulSet/Deployment controllers and kubelet stand-in; null until <see cref="StartAsync"/>.</summary>
    public WorkloadSimulator Workloads { get; }

    public Uri BaseAddress { get; private set; } = null!;

    public KubeApiDouble(bool simulateWorkloads = true) => Workloads = new WorkloadSimulator(this, simulateWorkloads);

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.Run(HandleAsync);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
    }

    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            foreach (var w in _watchers)
                w.Writer.TryComplete();
        }
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, evaluating it again after every change the double stores
    /// (no polling, no sleeps); fails with <paramref name="what"/> when <paramref name="timeout"/> passes first.
    /// </summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            Task changed;
            lock (_lock) changed = _changed.Task;
            if (condition())
                return;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"Timed out waiting for: {what}");
            try
            {
                await changed.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
            }
            catch (TimeoutException)
            {
                // Conditions on things outside the double (an operator's state) are looked at again at least every second.
            }
        }
    }

    /// <summary>Every write the double accepted or refused, in order.</summary>
    public IReadOnlyList<AuditRecord> Audit
    {
        get { lock (_lock) return [.. _audit]; }
    }

    /// <summary>
    /// Runs <paramref name="hook"/> before each write from a client (not the double's own); when it returns true
    /// it is removed. The hook may change objects through <see cref="Mutate"/>, e.g. to make the client's
    /// resourceVersion stale as a concurrent writer would.
    /// </summary>
    public void BeforeWrite(Func<AuditRecord, bool> hook)
    {
        lock (_lock) _beforeWrite.Add(hook);
    }

    public JsonObject? Get(string plural, string ns, string name)
    {
        lock (_lock)
            return _objects.TryGetValue(new ObjectKey(plural, ns, name), out var o) ? (JsonObject)o.DeepClone() : null;
    }

    public List<JsonObject> List(string plural, string? ns = null)
    {
        lock (_lock)
        {
            return [.. _objects.Where(kv => kv.Key.Plural == plural && (ns is null || kv.Key.Namespace == ns))
                .OrderBy(kv => kv.Key.Name, StringComparer.Ordinal).Select(kv => (JsonObject)kv.Value.DeepClone())];
        }
    }

    /// <summary>Creates an object as an outside client would (a Secret the test provides, say).</summary>
    public JsonObject Create(string plural, string ns, JsonObject obj)
    {
        lock (_lock)
        {
            var (code, result) = CreateLocked(plural, ns, obj, "test");
            return code == 201 ? result : throw new InvalidOperationException(result.ToJsonString());
        }
    }

    /// <summary>Changes a stored object in place (as another writer would): bumps its resourceVersion and notifies watchers.</summary>
    public void Mutate(string plural, string ns, string name, Action<JsonObject> change)
    {
        lock (_lock)
        {
            var key = new ObjectKey(plural, ns, name);
            if (!_objects.TryGetValue(key, out var current))
                throw new InvalidOperationException($"{plural}/{ns}/{name} does not exist");
            var copy = (JsonObject)current.DeepClone();
            change(copy);
            var oldSpec = SpecOf(current);
            if (SpecOf(copy) != oldSpec)
                copy["metadata"]!["generation"] = (current["metadata"]?["generation"]?.AsLong() ?? 1) + 1;
            StoreLocked(key, copy, "MODIFIED", "test", "mutate");
        }
    }

    /// <summary>Deletes an object as an outside client would (finalizers and garbage collection apply).</summary>
    public void Delete(string plural, string ns, string name)
    {
        lock (_lock) DeleteLocked(new ObjectKey(plural, ns, name), "test");
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (!TryParse(request.Path.Value ?? "", out var path))
        {
            await WriteStatus(context.Response, 404, "NotFound", $"the double serves no {request.Path}");
            return;
        }
        var user = request.Headers.UserAgent.ToString();
        string? body = null;
        if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            body = await reader.ReadToEndAsync();
        }
        var query = request.Query;
        if (request.Method == "GET" && path.Name is null && (query["watch"] == "true" || query["watch"] == "1"))
        {
            await WatchAsync(context, path);
            return;
        }
        int code;
        JsonNode result;
        lock (_lock)
        {
            (code, result) = request.Method switch
            {
                "GET" when path.Name is null => ListLocked(path, query["labelSelector"]),
                "GET" => GetLocked(path),
                "POST" when path.Name is null => CreateLocked(path.Plural, path.Namespace!, JsonNode.Parse(body!)!.AsObject(), user),
                "PUT" when path.Name is not null => UpdateLocked(path, JsonNode.Parse(body!)!.AsObject(), user),
                "PATCH" when path.Name is not null => MergePatchLocked(path, JsonNode.Parse(body!)!.AsObject(), user),
                "DELETE" when path.Name is not null => DeleteLocked(new ObjectKey(path.Plural, path.Namespace!, path.Name), user),
                _ => (405, StatusObject(405, "MethodNotAllowed", $"{request.Method} {request.Path} is not served by the double")),
            };
        }
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(result.ToJsonString());
    }

    private (int, JsonNode) GetLocked(ApiPath path)
    {
        var key = new ObjectKey(path.Plural, path.Namespace!, path.Name!);
        return _objects.TryGetValue(key, out var o)
            ? (200, o.DeepClone())
            : (404, StatusObject(404, "NotFound", $"{path.Plural} \"{path.Name}\" not found"));
    }

    private (int, JsonNode) ListLocked(ApiPath path, string? labelSelector)
    {
        var items = new JsonArray();
        foreach (var (key, o) in _objects.Where(kv => kv.Key.Plural == path.Plural && (path.Namespace is null || kv.Key.Namespace == path.Namespace))
            .OrderBy(kv => kv.Key.Namespace, StringComparer.Ordinal).ThenBy(kv => kv.Key.Name, StringComparer.Ordinal))
        {
            if (MatchesSelector(o, labelSelector))
                items.Add(o.DeepClone());
        }
        var list = new JsonObject
        {
            ["apiVersion"] = path.ApiVersion,
            ["kind"] = Kinds[path.Plural].Kind + "List",
            ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) },
            ["items"] = items,
        };
        return (200, list);
    }

    private (int, JsonObject) CreateLocked(string plural, string ns, JsonObject obj, string user)
    {
        var meta = obj["metadata"]?.AsObject() ?? throw new InvalidOperationException("object without metadata");
        var name = meta["name"]?.GetValue<string>();
        if (string.IsNullOrEmpty(name))
            return Refuse(422, "Invalid", "metadata.name is required", plural, ns, "", "create", user);
        var key = new ObjectKey(plural, ns, name);
        if (RunHooks(new AuditRecord(0, "create", plural, ns, name, null, user, 0)) is { } refused)
            return refused;
        if (_objects.ContainsKey(key))
            return Refuse(409, "AlreadyExists", $"{plural} \"{name}\" already exists", plural, ns, name, "create", user);
        var copy = (JsonObject)obj.DeepClone();
        var m = copy["metadata"]!.AsObject();
        m["namespace"] = ns;
        m["uid"] = Guid.NewGuid().ToString();
        m["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        m["generation"] = 1;
        m.Remove("deletionTimestamp");
        if (Kinds[plural].HasStatus && plural != "pods")
            copy.Remove("status");
        StoreLocked(key, copy, "ADDED", user, "create");
        return (201, (JsonObject)copy.DeepClone());
    }

    private (int, JsonNode) UpdateLocked(ApiPath path, JsonObject obj, string user)
    {
        var key = new ObjectKey(path.Plural, path.Namespace!, path.Name!);
        var verb = path.Subresource == "status" ? "update-status" : "update";
        if (RunHooks(new AuditRecord(0, verb, key.Plural, key.Namespace, key.Name, null, user, 0)) is { } refused)
            return refused;
        if (!_objects.TryGetValue(key, out var current))
            return Refuse(404, "NotFound", $"{path.Plural} \"{path.Name}\" not found", key.Plural, key.Namespace, key.Name, verb, user);
        var givenVersion = obj["metadata"]?["resourceVersion"]?.GetValue<string>();
        var currentVersion = current["metadata"]!["resourceVersion"]!.GetValue<string>();
        if (!string.IsNullOrEmpty(givenVersion) && givenVersion != currentVersion)
        {
            return Refuse(409, "Conflict", $"Operation cannot be fulfilled on {path.Plural} \"{path.Name}\": the object has been modified; "
                + "please apply your changes to the latest version and try again", key.Plural, key.Namespace, key.Name, verb, user);
        }
        JsonObject next;
        if (path.Subresource == "status")
        {
            next = (JsonObject)current.DeepClone();
            next["status"] = obj["status"]?.DeepClone();
        }
        else
        {
            next = (JsonObject)obj.DeepClone();
            var m = next["metadata"]!.AsObject();
            var cm = current["metadata"]!.AsObject();
            foreach (var kept in new[] { "uid", "creationTimestamp", "deletionTimestamp", "namespace", "generation" })
            {
                m.Remove(kept);
                if (cm[kept] is { } v)
                    m[kept] = v.DeepClone();
            }
            if (Kinds[path.Plural].HasStatus)
                next["status"] = current["status"]?.DeepClone();
            if (SpecOf(next) != SpecOf(current))
                m["generation"] = (cm["generation"]?.AsLong() ?? 1) + 1;
        }
        if (next.ToJsonString() == current.ToJsonString())
        {
            // As the API server does, a write that changes nothing keeps the resourceVersion and sends no event.
            Record(verb + "-noop", key, currentVersion, user, 200);
            return (200, next);
        }
        StoreLocked(key, next, "MODIFIED", user, verb);
        FinishDeletionIfUnblocked(key, user);
        return (200, _objects.TryGetValue(key, out var stored) ? stored.DeepClone() : next);
    }

    private (int, JsonNode) MergePatchLocked(ApiPath path, JsonObject patch, string user)
    {
        var key = new ObjectKey(path.Plural, path.Namespace!, path.Name!);
        if (!_objects.TryGetValue(key, out var current))
            return Refuse(404, "NotFound", $"{path.Plural} \"{path.Name}\" not found", key.Plural, key.Namespace, key.Name, "patch", user);
        var merged = (JsonObject)current.DeepClone();
        Merge(merged, patch);
        if (patch["metadata"]?["resourceVersion"] is null)
            merged["metadata"]!["resourceVersion"] = current["metadata"]!["resourceVersion"]!.DeepClone();
        return UpdateLocked(path, merged, user);
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (k, v) in patch)
        {
            if (v is null)
                target.Remove(k);
            else if (v is JsonObject po && target[k] is JsonObject to)
                Merge(to, po);
            else
                target[k] = v.DeepClone();
        }
    }

    private (int, JsonNode) DeleteLocked(ObjectKey key, string user)
    {
        if (RunHooks(new AuditRecord(0, "delete", key.Plural, key.Namespace, key.Name, null, user, 0)) is { } refused)
            return refused;
        if (!_objects.TryGetValue(key, out var current))
            return Refuse(404, "NotFound", $"{key.Plural} \"{key.Name}\" not found", key.Plural, key.Namespace, key.Name, "delete", user);
        var finalizers = current["metadata"]?["finalizers"]?.AsArray();
        if (finalizers is { Count: > 0 })
        {
            if (current["metadata"]!["deletionTimestamp"] is null)
            {
                var next = (JsonObject)current.DeepClone();
                next["metadata"]!["deletionTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
                StoreLocked(key, next, "MODIFIED", user, "delete-pending");
            }
            return (202, _objects[key].DeepClone());
        }
        RemoveLocked(key, current, user);
        return (200, current.DeepClone());
    }

    private void FinishDeletionIfUnblocked(ObjectKey key, string user)
    {
        if (_objects.TryGetValue(key, out var o) && o["metadata"]?["deletionTimestamp"] is not null
            && o["metadata"]?["finalizers"]?.AsArray() is null or { Count: 0 })
            RemoveLocked(key, o, user);
    }

    private void RemoveLocked(ObjectKey key, JsonObject current, string user)
    {
        _objects.Remove(key);
        var rv = NextVersion();
        var deleted = (JsonObject)current.DeepClone();
        deleted["metadata"]!["resourceVersion"] = rv;
        Publish(new WatchEvent(key, "DELETED", deleted, long.Parse(rv, CultureInfo.InvariantCulture)));
        Record("delete", key, rv, user, 200);
        // Garbage collection: dependents whose every owner is gone are deleted too (background propagation).
        var uid = current["metadata"]!["uid"]!.GetValue<string>();
        var dependents = _objects.Where(kv => kv.Key.Namespace == key.Namespace && OwnerUids(kv.Value).Contains(uid)).ToList();
        foreach (var (depKey, dep) in dependents)
        {
            var liveOwners = OwnerUids(dep).Where(u => u != uid && _objects.Values.Any(o => o["metadata"]!["uid"]!.GetValue<string>() == u));
            if (!liveOwners.Any() && _objects.ContainsKey(depKey))
                DeleteLocked(depKey, "garbage-collector");
        }
        Workloads.AfterWriteLocked(key.Plural);
    }

    private static IEnumerable<string> OwnerUids(JsonObject o) =>
        o["metadata"]?["ownerReferences"]?.AsArray().Select(r => r!["uid"]!.GetValue<string>()) ?? [];

    internal void StoreLocked(ObjectKey key, JsonObject obj, string eventType, string user, string verb)
    {
        var rv = NextVersion();
        obj["metadata"]!["resourceVersion"] = rv;
        _objects[key] = obj;
        Publish(new WatchEvent(key, eventType, (JsonObject)obj.DeepClone(), long.Parse(rv, CultureInfo.InvariantCulture)));
        Record(verb, key, rv, user, 200);
        Workloads.AfterWriteLocked(key.Plural);
    }

    internal bool TryGetLocked(ObjectKey key, out JsonObject obj) => _objects.TryGetValue(key, out obj!);

    internal IEnumerable<KeyValuePair<ObjectKey, JsonObject>> AllLocked(string plural) =>
        [.. _objects.Where(kv => kv.Key.Plural == plural)];

    internal void CreateInternalLocked(string plural, string ns, JsonObject obj, string user) => CreateLocked(plural, ns, obj, user);

    internal void DeleteInternalLocked(ObjectKey key, string user) => DeleteLocked(key, user);

    internal object SyncRoot => _lock;

    private string NextVersion() => (++_resourceVersion).ToString(CultureInfo.InvariantCulture);

    private void Record(string verb, ObjectKey key, string? rv, string user, int code) =>
        _audit.Add(new AuditRecord(_audit.Count + 1, verb, key.Plural, key.Namespace, key.Name, rv, user, code));

    private (int, JsonObject) Refuse(int code, string reason, string message, string plural, string ns, string name, string verb, string user)
    {
        Record(verb, new ObjectKey(plural, ns, name), null, user, code);
        return (code, StatusObject(code, reason, message));
    }

    private (int, JsonObject)? RunHooks(AuditRecord write)
    {
        if (write.User is "test" or "garbage-collector" or WorkloadSimulator.User)
            return null;
        foreach (var hook in _beforeWrite.ToList())
        {
            if (hook(write))
                _beforeWrite.Remove(hook);
        }
        return null;
    }

    /// <summary>What counts as the spec for generation: everything but metadata and status.</summary>
    private static string SpecOf(JsonObject o)
    {
        var copy = (JsonObject)o.DeepClone();
        copy.Remove("metadata");
        copy.Remove("status");
        return copy.ToJsonString();
    }

    private static JsonObject StatusObject(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private static Task WriteStatus(HttpResponse response, int code, string reason, string message)
    {
        response.StatusCode = code;
        response.ContentType = "application/json";
        return response.WriteAsync(StatusObject(code, reason, message).ToJsonString());
    }

    /// <summary>
    /// /api/v1/[namespaces/NS/]PLURAL[/NAME[/SUB]] and /apis/GROUP/VERSION/[namespaces/NS/]PLURAL[/NAME[/SUB]].
    /// </summary>
    private static bool TryParse(string raw, out ApiPath path)
    {
        path = default;
        var s = raw.Trim('/').Split('/');
        int i;
        string apiVersion;
        if (s.Length >= 3 && s[0] == "api" && s[1] == "v1")
        {
            apiVersion = "v1";
            i = 2;
        }
        else if (s.Length >= 4 && s[0] == "apis")
        {
            apiVersion = s[1] + "/" + s[2];
            i = 3;
        }
        else
        {
            return false;
        }
        string? ns = null;
        if (s.Length > i + 1 && s[i] == "namespaces")
        {
            ns = s[i + 1];
            i += 2;
        }
        if (s.Length <= i || !Kinds.ContainsKey(s[i]))
            return false;
        path = new ApiPath(apiVersion, ns, s[i], s.Length > i + 1 ? s[i + 1] : null, s.Length > i + 2 ? s[i + 2] : null);
        return true;
    }

    private readonly record struct ApiPath(string ApiVersion, string? Namespace, string Plural, string? Name, string? Subresource);

    private sealed record WatchEvent(ObjectKey Key, string Type, JsonObject Object, long ResourceVersion);
}

public readonly record struct ObjectKey(string Plural, string Namespace, string Name);

/// <summary>One write the double saw: its verb (create, update, update-status, delete, delete-pending, …), the object, the resulting resourceVersion, the client (User-Agent) and the HTTP code.</summary>
public sealed record AuditRecord(int Sequence, string Verb, string Plural, string Namespace, string Name, string? ResourceVersion, string User, int Code);

internal static class JsonNodeExtensions
{
    public static string? Str(this JsonNode? node, params string[] path)
    {
        foreach (var p in path)
            node = node?[p];
        return node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node?.ToJsonString();
    }

    public static long? AsLong(this JsonNode node) => long.Parse(node.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);

    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);
}
