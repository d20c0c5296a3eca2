using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Tiered.Security.Tokens;
using Tiered.Testing;
using Tiered.V1;
using Xunit;
using Xunit.Abstractions;

namespace Tiered.Tests.Cluster;

/// <summary>
/// Authentication and authorization of the broker's gRPC service and admin API: a `tiered standalone` started with
/// --token-secret-key and a super-user role, real tokens, and every kind of caller against each kind of call. Each
/// refusal has the right code and a reason, and changes nothing.
/// </summary>
public sealed class SecurityTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tiered-security-").FullName;
    private Standalone? _standalone;
    private readonly Dictionary<string, string?> _tokens = new(StringComparer.Ordinal);

    private Standalone Cluster => _standalone!;

    public async Task InitializeAsync()
    {
        var key = SecretKey.Create();
        var keyFile = Path.Combine(_dir, "secret.key");
        key.Write(keyFile);
        foreach (var role in new[] { "admin", "alice", "bob", "producer", "consumer" })
            _tokens[role] = TokenIssuer.Create(key, role);
        _tokens["none"] = null;
        _tokens["expired"] = TokenIssuer.Create(key, "admin", DateTimeOffset.UtcNow.AddMinutes(-5));
        _tokens["other key"] = TokenIssuer.Create(SecretKey.Create(), "admin");
        var tampered = _tokens["producer"]!.Split('.');
        tampered[1] = Base64Url("{\"sub\":\"admin\"}");
        _tokens["tampered"] = string.Join('.', tampered);

        _standalone = new Standalone("--token-secret-key", keyFile, "--superuser-roles", "admin");
        await _standalone.StartAsync();
        // The super-user sets up two tenants and grants a/ns to two roles.
        using var admin = Http("admin");
        foreach (var (tenant, adminRole) in new[] { ("a", "alice"), ("b", "bob") })
        {
            await Succeeds(await admin.PutAsJsonAsync($"/admin/v2/tenants/{tenant}", new { adminRoles = new[] { adminRole }, allowedClusters = new[] { "standalone" } }));
            await Succeeds(await admin.PutAsync($"/admin/v2/namespaces/{tenant}/ns", null));
        }
        await Succeeds(await admin.PostAsJsonAsync("/admin/v2/namespaces/a/ns/permissions/producer", new[] { "produce" }));
        await Succeeds(await admin.PostAsJsonAsync("/admin/v2/namespaces/a/ns/permissions/consumer", new[] { "consume" }));
    }

    public Task DisposeAsync()
    {
        _standalone?.Dispose();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Every caller against every data-path call (Lookup, Produce, Consume, GetLastMessageId, Seek), on a topic of tenant a (the grants are on a/ns).</summary>
    [Fact]
    public async Task Every_grpc_call_is_allowed_exactly_to_the_roles_that_may_make_it()
    {
        const string topic = "persistent://a/ns/orders";
        var allowed = new Dictionary<string, (bool Produce, bool Consume)>(StringComparer.Ordinal)
        {
            ["admin"] = (true, true), ["alice"] = (true, true), ["bob"] = (false, false), ["producer"] = (true, false), ["consumer"] = (false, true),
        };
        foreach (var (caller, token) in _tokens)
        {
            var client = Messaging(token);
            var (produce, consume) = allowed.GetValueOrDefault(caller);
            var denied = allowed.ContainsKey(caller) ? StatusCode.PermissionDenied : StatusCode.Unauthenticated;
            var lookup = await StatusOf(() => client.LookupAsync(new LookupRequest { Topic = topic }).ResponseAsync);
            var opened = await StatusOf(async () => await (await RawProducer.OpenAsync(client, topic)).DisposeAsyncReturning());
            var subscribed = await StatusOf(async () => await (await RawConsumer.SubscribeAsync(client, new Subscribe { Topic = topic, Subscription = "s" })).DisposeAsyncReturning());
            var last = await StatusOf(() => client.GetLastMessageIdAsync(new GetLastMessageIdRequest { Topic = topic }).ResponseAsync);
            var seek = await StatusOf(() => client.SeekAsync(new SeekRequest { Topic = topic, Subscription = "s", PublishTimeMs = 1 }).ResponseAsync);
            output.WriteLine($"{caller,-10} lookup {lookup.Code,-16} produce {opened.Code,-16} consume {subscribed.Code,-16} lastMessageId {last.Code,-16} seek {seek.Code,-16} {opened.Message}");
            Assert.Equal(produce || consume ? StatusCode.OK : denied, lookup.Code);
            Assert.Equal(produce ? StatusCode.OK : denied, opened.Code);
            Assert.Equal(consume ? StatusCode.OK : denied, subscribed.Code);
            Assert.Equal(consume ? StatusCode.OK : denied, seek.Code);
            if (!consume)
                Assert.Equal(denied, last.Code);
            if (!produce)
                Assert.Contains(caller is "bob" or "consumer" ? $"'{caller}'" : "token", opened.Message, StringComparison.OrdinalIgnoreCase);
        }
        Assert.Contains("expired", (await StatusOf(() => Messaging(_tokens["expired"]).LookupAsync(new LookupRequest { Topic = topic }).ResponseAsync)).Message, StringComparison.Ordinal);
    }

    /// <summary>Admin endpoints by who may call them; a refused change leaves nothing behind.</summary>
    [Fact]
    public async Task Admin_endpoints_are_allowed_to_super_users_tenant_admins_and_granted_roles_only()
    {
        var cases = new (string Caller, HttpMethod Method, string Path, object? Body, HttpStatusCode Expected)[]
        {
            ("none", HttpMethod.Get, "/admin/v2/clusters", null, HttpStatusCode.Unauthorized),
            ("expired", HttpMethod.Get, "/admin/v2/clusters", null, HttpStatusCode.Unauthorized),
            ("tampered", HttpMethod.Get, "/admin/v2/namespaces/a", null, HttpStatusCode.Unauthorized),
            ("other key", HttpMethod.Get, "/admin/v2/namespaces/a", null, HttpStatusCode.Unauthorized),
            ("producer", HttpMethod.Get, "/admin/v2/clusters", null, HttpStatusCode.OK),
            ("alice", HttpMethod.Put, "/admin/v2/tenants/c", new { adminRoles = new[] { "alice" }, allowedClusters = new[] { "standalone" } }, HttpStatusCode.Forbidden),
            ("alice", HttpMethod.Get, "/admin/v2/tenants", null, HttpStatusCode.Forbidden),
            ("alice", HttpMethod.Get, "/admin/v2/namespaces/a", null, HttpStatusCode.OK),
            ("alice", HttpMethod.Put, "/admin/v2/namespaces/a/made-by-alice", null, HttpStatusCode.NoContent),
            ("bob", HttpMethod.Get, "/admin/v2/namespaces/a", null, HttpStatusCode.Forbidden),
            ("bob", HttpMethod.Put, "/admin/v2/namespaces/a/made-by-bob", null, HttpStatusCode.Forbidden),
            ("bob", HttpMethod.Post, "/admin/v2/namespaces/a/ns/permissions/bob", new[] { "produce", "consume" }, HttpStatusCode.Forbidden),
            ("producer", HttpMethod.Put, "/admin/v2/persistent/a/ns/made-by-producer", null, HttpStatusCode.Forbidden),
            ("consumer", HttpMethod.Get, "/admin/v2/persistent/a/ns/orders/stats", null, HttpStatusCode.OK),
            ("producer", HttpMethod.Get, "/admin/v2/persistent/a/ns/orders/stats", null, HttpStatusCode.Forbidden),
            ("bob", HttpMethod.Get, "/admin/v2/brokers/health", null, HttpStatusCode.Forbidden),
            ("admin", HttpMethod.Get, "/admin/v2/tenants", null, HttpStatusCode.OK),
        };
        using (var admin = Http("admin"))
            await Succeeds(await admin.PutAsync("/admin/v2/persistent/a/ns/orders", null));
        foreach (var (caller, method, path, body, expected) in cases)
        {
            using var http = Http(caller);
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            output.WriteLine($"{caller,-10} {method,-6} {path,-50} {(int)response.StatusCode} {text[..Math.Min(160, text.Length)]}");
            Assert.True(expected == response.StatusCode, $"{caller} {method} {path}: expected {(int)expected}, got {(int)response.StatusCode} {text}");
            if (response.StatusCode is HttpStatusCode.Forbidden)
                Assert.Contains(caller, text, StringComparison.Ordinal);
        }
        // Nothing was created or granted by the refused requests.
        using var check = Http("admin");
        Assert.Equal(HttpStatusCode.NotFound, (await check.GetAsync("/admin/v2/tenants/c")).StatusCode);
        Assert.DoesNotContain("made-by-bob", await check.GetStringAsync("/admin/v2/namespaces/a"));
        Assert.DoesNotContain("\"bob\"", await check.GetStringAsync("/admin/v2/namespaces/a/ns/permissions"));
        Assert.DoesNotContain("made-by-producer", await check.GetStringAsync("/admin/v2/persistent/a/ns"));
        // Health and metrics need no token (probes and scrapers have none).
        using var anonymous = Http("none");
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready")).StatusCode);
    }

    /// <summary>A dead-letter policy needs produce permission on its dead-letter and retry topics; refused at Subscribe, nothing created.</summary>
    [Fact]
    public async Task A_dead_letter_topic_where_the_consumer_may_not_produce_is_refused_at_subscribe_and_nothing_is_created()
    {
        const string topic = "persistent://a/ns/dead-letter-checked";
        var cases = new (string Caller, DeadLetterPolicy Policy, StatusCode Expected)[]
        {
            ("alice", new DeadLetterPolicy { MaxRedeliverCount = 3, DeadLetterTopic = "persistent://b/ns/stolen-dlq" }, StatusCode.PermissionDenied),
            ("alice", new DeadLetterPolicy { MaxRedeliverCount = 3, RetryLetterTopic = "persistent://b/ns/stolen-retry" }, StatusCode.PermissionDenied),
            // May consume a/ns but not produce there: the default dead-letter topic is in a/ns.
            ("consumer", new DeadLetterPolicy { MaxRedeliverCount = 3 }, StatusCode.PermissionDenied),
        };
        foreach (var (caller, policy, expected) in cases)
        {
            var subscribe = new Subscribe { Topic = topic, Subscription = "s", DeadLetterPolicy = policy };
            var (code, message) = await StatusOf(async () => await (await RawConsumer.SubscribeAsync(Messaging(_tokens[caller]), subscribe)).DisposeAsyncReturning());
            output.WriteLine($"{caller}: {code} {message}");
            Assert.Equal(expected, code);
            Assert.Contains("dead-letter policy", message, StringComparison.Ordinal);
        }
        using var check = Http("admin");
        Assert.DoesNotContain("dead-letter-checked", await check.GetStringAsync("/admin/v2/persistent/a/ns"));
        Assert.DoesNotContain("stolen", await check.GetStringAsync("/admin/v2/persistent/b/ns"));
        // Within the consumer's own namespace, with produce permission, it is accepted.
        var allowed = await StatusOf(async () => await (await RawConsumer.SubscribeAsync(Messaging(_tokens["alice"]),
            new Subscribe { Topic = topic, Subscription = "s", DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 3 } })).DisposeAsyncReturning());
        Assert.Equal(StatusCode.OK, allowed.Code);
    }

    /// <summary>Secrets never show: no refusal (gRPC or REST) and nothing the process logged holds a token's signature or the key.</summary>
    [Fact]
    public async Task Refusals_and_logs_never_hold_a_token_or_the_key()
    {
        var said = new List<string>();
        foreach (var (caller, token) in _tokens)
        {
            said.Add((await StatusOf(() => Messaging(token).LookupAsync(new LookupRequest { Topic = "persistent://b/ns/secret" }).ResponseAsync)).Message);
            using var http = Http(caller);
            said.Add(await (await http.GetAsync("/admin/v2/tenants")).Content.ReadAsStringAsync());
        }
        Assert.Contains(said, text => text.Contains("expired", StringComparison.Ordinal)); // the refusals were said
        said.Add(Cluster.Process!.Output);
        var key = Convert.ToBase64String(await File.ReadAllBytesAsync(Path.Combine(_dir, "secret.key")));
        foreach (var text in said)
        {
            Assert.DoesNotContain(key, text, StringComparison.Ordinal);
            foreach (var token in _tokens.Values.OfType<string>())
                Assert.DoesNotContain(token.Split('.')[2], text, StringComparison.Ordinal);
        }
    }

    private Messaging.MessagingClient Messaging(string? token)
    {
        var channel = GrpcChannel.ForAddress(Cluster.Url);
        var invoker = token is null ? channel.CreateCallInvoker()
            : channel.Intercept(metadata => { metadata.Add("authorization", $"Bearer {token}"); return metadata; });
        return new Messaging.MessagingClient(invoker);
    }

    private HttpClient Http(string caller)
    {
        var http = new HttpClient { BaseAddress = new Uri(Cluster.AdminUrl) };
        if (_tokens[caller] is { } token)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private static async Task<(StatusCode Code, string Message)> StatusOf(Func<Task> call)
    {
        try
        {
            await call();
            return (StatusCode.OK, "");
        }
        catch (RpcException e)
        {
            return (e.StatusCode, e.Status.Detail);
        }
    }

    private static async Task Succeeds(HttpResponseMessage response)
        => Assert.True(response.IsSuccessStatusCode, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");

    private static string Base64Url(string json)
        => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

internal static class RawClientExtensions
{
    /// <summary>Closes a raw producer or consumer that opened (the call only needed to know it was allowed).</summary>
    public static async Task<bool> DisposeAsyncReturning(this IAsyncDisposable client)
    {
        await client.DisposeAsync();
        return true;
    }
}

/// <summary>The safe default: a server reachable from other machines without authentication refuses to start (nothing is bound).</summary>
public sealed class AnonymousAccessTests
{
    [Theory]
    [InlineData("broker", "--grpc-listen")]
    [InlineData("bookie", "--listen")]
    [InlineData("metadata", "--listen")]
    public async Task A_role_listening_off_loopback_without_authentication_refuses_to_start(string role, string listen)
    {
        string[] args = [role, listen, $"0.0.0.0:{TieredProcess.FreePort()}", .. role == "metadata" ? Array.Empty<string>() : ["--metadata", "127.0.0.1:1"]];
        var (exitCode, output) = await TieredProcess.RunAsync(TimeSpan.FromSeconds(60), args);
        Assert.Equal(2, exitCode);
        Assert.Contains($"{listen} 0.0.0.0:", output, StringComparison.Ordinal);
        Assert.Contains("without authentication (--token-secret-key, --token-public-key or --tls-client-ca-file)", output, StringComparison.Ordinal);
        Assert.Contains("--allow-anonymous", output, StringComparison.Ordinal);
    }
}

/// <summary>
/// Two clusters that both check tokens, each with its own key: each one's replicators present a token the other
/// cluster issued (--replication-token-file), and messages published in one arrive in the other.
/// </summary>
public sealed class GeoReplicationWithAuthenticationTests
{
    [Fact]
    public async Task Replicators_present_their_token_to_a_remote_cluster_that_checks_tokens()
    {
        var dir = Directory.CreateTempSubdirectory("tiered-geo-auth-").FullName;
        try
        {
            var keys = new Dictionary<string, SecretKey> { ["a"] = SecretKey.Create(), ["b"] = SecretKey.Create() };
            var clusters = new Dictionary<string, Standalone>();
            foreach (var (name, key) in keys)
            {
                key.Write(Path.Combine(dir, $"{name}.key"));
                // The token this cluster's replicators present: issued by the other cluster, for its super-user role.
                var other = name == "a" ? "b" : "a";
                await File.WriteAllTextAsync(Path.Combine(dir, $"{name}-replicates.token"), TokenIssuer.Create(keys[other], "replicator"));
            }
            foreach (var name in keys.Keys)
            {
                clusters[name] = new Standalone("--cluster-name", name, "--token-secret-key", Path.Combine(dir, $"{name}.key"), "--superuser-roles", "admin,replicator",
                    "--replication-token-file", Path.Combine(dir, $"{name}-replicates.token"));
            }
            await Task.WhenAll(clusters.Values.Select(c => c.StartAsync()));
            try
            {
                foreach (var (name, cluster) in clusters)
                {
                    var (otherName, other) = clusters.Single(c => c.Key != name);
                    await GeoConfiguration.ConfigureAsync(cluster, name, TokenIssuer.Create(keys[name], "admin"), (other, otherName));
                }
                const string topic = "persistent://public/geo/secured";
                await using var clientA = new Tiered.Client.TieredClient(new Tiered.Client.TieredClientOptions { ServiceUrl = clusters["a"].Url, Token = TokenIssuer.Create(keys["a"], "admin") });
                await using var clientB = new Tiered.Client.TieredClient(new Tiered.Client.TieredClientOptions { ServiceUrl = clusters["b"].Url, Token = TokenIssuer.Create(keys["b"], "admin") });
                await using var consumer = await clientB.SubscribeAsync(new Tiered.Client.ConsumerOptions(topic, "s") { InitialPosition = Tiered.Client.SubscriptionInitialPosition.Earliest });
                await using (var producer = await clientA.CreateProducerAsync(new Tiered.Client.ProducerOptions(topic)))
                {
                    for (var i = 0; i < 100; i++)
                        await producer.SendAsync(System.Text.Encoding.UTF8.GetBytes($"m{i}"));
                }
                var received = new HashSet<string>();
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                while (received.Count < 100)
                    received.Add(System.Text.Encoding.UTF8.GetString((await consumer.ReceiveAsync(deadline.Token)).Payload.Span));
                Assert.Equal(100, received.Count);
            }
            finally
            {
                foreach (var cluster in clusters.Values)
                    cluster.Dispose();
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
