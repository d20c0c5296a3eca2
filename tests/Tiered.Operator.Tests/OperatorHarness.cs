using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Operator.Tests.ApiServerDouble;

namespace Tiered.Operator.Tests;

/// <summary>
/// One Kubernetes API server double, a fake admin endpoint for bookie decommissioning, and operators (the real
/// <see cref="ClusterOperator"/> with the real KubernetesClient) talking to them over 127.0.0.1.
/// </summary>
public sealed class OperatorHarness : IAsyncDisposable
{
    public const string Ns = "tiered";
    private readonly List<(ClusterOperator Operator, CancellationTokenSource Stop, Task Run)> _operators = [];

    public KubeApiDouble Api { get; } = new();
    public FakeAdmin Admin { get; } = new();
    public Kubernetes Client { get; private set; } = null!;

    public static async Task<OperatorHarness> StartAsync(bool withOperator = true)
    {
        var h = new OperatorHarness();
        await h.Api.StartAsync();
        await h.Admin.StartAsync();
        h.Client = new Kubernetes(new KubernetesClientConfiguration { Host = h.Api.BaseAddress.ToString() });
        if (withOperator)
            h.StartOperator("operator-a");
        return h;
    }

    public OperatorOptions Options(string identity) => new()
    {
        LeaseNamespace = "tiered-system",
        Identity = identity,
        LeaseDuration = TimeSpan.FromSeconds(2),
        RenewDeadline = TimeSpan.FromSeconds(1.5),
        RetryPeriod = TimeSpan.FromMilliseconds(200),
        ProgressInterval = TimeSpan.FromMilliseconds(50),
        ResyncInterval = TimeSpan.FromMinutes(10),
        AdminUrl = _ => AdminApi ?? Admin.BaseAddress,
    };

    /// <summary>The admin API the operators use instead of the fake one (a real <c>tiered standalone</c>'s).</summary>
    public Uri? AdminApi { get; set; }

    public ClusterOperator StartOperator(string identity)
    {
        var options = Options(identity);
        var op = new ClusterOperator(Client, new HttpClusterAdmin(new HttpClient(), options.AdminUrl, null), options, NullLoggerFactory.Instance);
        var stop = new CancellationTokenSource();
        _operators.Add((op, stop, Task.Run(() => op.RunAsync(stop.Token))));
        return op;
    }

    public async Task StopOperatorAsync(ClusterOperator op)
    {
        var entry = _operators.Single(o => o.Operator == op);
        await entry.Stop.CancelAsync();
        await entry.Run;
        _operators.Remove(entry);
    }

    /// <summary>A reconciler of its own, to reconcile once by hand (the idempotence test).</summary>
    public ClusterReconciler Reconciler() => new(Client, new HttpClusterAdmin(new HttpClient(), _ => Admin.BaseAddress, null), NullLogger.Instance);

    public static TieredCluster Cluster(string name, Action<TieredClusterSpec>? change = null)
    {
        var c = new TieredCluster { Metadata = new() { Name = name, NamespaceProperty = Ns } };
        c.Spec.Image = "tiered:1.0";
        change?.Invoke(c.Spec);
        return c;
    }

    public void Create(TieredCluster cluster)
    {
        var json = JsonNode.Parse(KubernetesJson.Serialize(cluster))!.AsObject();
        Api.Create(TieredCluster.Plural, Ns, json);
    }

    /// <summary>Changes the spec as <c>kubectl edit</c> would.</summary>
    public void Edit(string name, Action<TieredClusterSpec> change) =>
        Api.Mutate(TieredCluster.Plural, Ns, name, o =>
        {
            var cluster = KubernetesJson.Deserialize<TieredCluster>(o.ToJsonString());
            change(cluster.Spec);
            o["spec"] = JsonNode.Parse(KubernetesJson.Serialize(cluster.Spec));
        });

    public TieredCluster? Read(string name) =>
        Api.Get(TieredCluster.Plural, Ns, name) is { } o ? KubernetesJson.Deserialize<TieredCluster>(o.ToJsonString()) : null;

    public ClusterCondition? Condition(string name, string type) =>
        Read(name)?.Status?.Conditions.FirstOrDefault(c => c.Type == type);

    public bool IsReady(string name) =>
        Read(name) is { } c && c.Status?.ObservedGeneration == c.Metadata.Generation && Condition(name, "Ready")?.Status == "True";

    public Task WaitReadyAsync(string name) => Api.WaitUntilAsync(() => IsReady(name), $"{name} Ready at its current generation");

    public async ValueTask DisposeAsync()
    {
        foreach (var (op, stop, run) in _operators.ToList())
        {
            await stop.CancelAsync();
            await run;
        }
        Client?.Dispose();
        await Admin.DisposeAsync();
        await Api.DisposeAsync();
    }
}

/// <summary>
/// The admin API's decommission contract (<c>POST</c>/<c>GET /admin/v2/bookies/{id}/decommission</c>) on a real
/// socket, with the drain's progress in the test's hands: a started drain stays <c>Running</c> until
/// <see cref="Complete"/>. Every call is logged in order.
/// </summary>
public sealed class FakeAdmin : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, string> _states = new();
    private readonly ConcurrentQueue<string> _calls = new();
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyList<string> Calls => [.. _calls];

    /// <summary>Called when a GET answers Done (to note what had happened by then).</summary>
    public Action<string>? AnsweredDone { get; set; }

    public void Complete(string bookieId) => _states[bookieId] = "Done";

    /// <summary>Makes the next POST for <paramref name="bookieId"/> answer 409 with <paramref name="detail"/>, as the cluster does when too few bookies would remain.</summary>
    public void Refuse(string bookieId, string detail) => _refusals[bookieId] = detail;

    private readonly ConcurrentDictionary<string, string> _refusals = new();

    /// <summary>The clusters registered through <c>/admin/v2/clusters/{name}</c>: their JSON as written.</summary>
    private readonly ConcurrentDictionary<string, string> _clusters = new();

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/admin/v2/bookies/{id}/decommission", (string id) =>
        {
            if (_refusals.TryGetValue(id, out var detail))
            {
                _calls.Enqueue($"POST {id} 409");
                return Results.Problem(detail, statusCode: 409, type: "too-few-bookies");
            }
            _calls.Enqueue($"POST {id}");
            _states.TryAdd(id, "Running");
            return Results.Json(Progress(id), statusCode: 202);
        });
        _app.MapGet("/admin/v2/bookies/{id}/decommission", (string id) =>
        {
            if (!_states.ContainsKey(id))
            {
                _calls.Enqueue($"GET {id} 404");
                return Results.NotFound();
            }
            var progress = Progress(id);
            _calls.Enqueue($"GET {id} {progress["state"]}");
            if (_states[id] == "Done")
                AnsweredDone?.Invoke(id);
            return Results.Json(progress);
        });
        _app.MapGet("/admin/v2/clusters/{name}", (string name) =>
        {
            _calls.Enqueue($"GET cluster {name}");
            return _clusters.TryGetValue(name, out var data) ? Results.Text(data, "application/json") : Results.NotFound();
        });
        foreach (var verb in (string[])["PUT", "POST"])
        {
            _app.MapMethods("/admin/v2/clusters/{name}", [verb], async (string name, HttpRequest request) =>
            {
                var data = await new StreamReader(request.Body).ReadToEndAsync();
                _calls.Enqueue($"{verb} cluster {name} {data}");
                _clusters[name] = data;
                return Results.NoContent();
            });
        }
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
    }

    private Dictionary<string, object> Progress(string id)
    {
        var done = _states[id] == "Done";
        return new() { ["bookieId"] = id, ["state"] = _states[id], ["readOnly"] = true, ["ledgersRemaining"] = done ? 0 : 7, ["underReplicatedLedgers"] = done ? 0 : 3 };
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
