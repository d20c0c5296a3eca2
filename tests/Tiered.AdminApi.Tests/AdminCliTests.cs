using System.Text.Json;
using Tiered.Testing;

namespace Tiered.AdminApi.Tests;

/// <summary>`tiered admin …` as a real process against the admin API in <see cref="AdminApiServer"/>.</summary>
public sealed class AdminCliTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private async Task<string> TieredAsync(int expectedExitCode, params string[] args)
    {
        var (exitCode, output) = await TieredProcess.RunAsync(Timeout, ["admin", .. args, "--admin-url", server.Http.BaseAddress!.ToString()]);
        Assert.True(exitCode == expectedExitCode, $"tiered admin {string.Join(' ', args)} exited with {exitCode}, expected {expectedExitCode}:\n{output}");
        return output;
    }

    [Fact]
    public async Task Clusters_and_tenants_are_managed_from_the_command_line()
    {
        Assert.Contains("standalone", JsonStrings(await TieredAsync(0, "clusters", "list")));
        Assert.Contains("http://127.0.0.1:6650", await TieredAsync(0, "clusters", "get", "standalone"));

        await TieredAsync(0, "tenants", "create", "cli-tenant", "--admin-roles", "ops,dev");
        Assert.Contains("cli-tenant", JsonStrings(await TieredAsync(0, "tenants", "list")));
        using (var info = JsonDocument.Parse(await TieredAsync(0, "tenants", "get", "cli-tenant")))
        {
            Assert.Equal(["ops", "dev"], info.RootElement.GetProperty("adminRoles").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(["standalone"], info.RootElement.GetProperty("allowedClusters").EnumerateArray().Select(e => e.GetString()));
        }
        await TieredAsync(0, "tenants", "delete", "cli-tenant");
        Assert.Null(await server.StoredAsync("/admin/tenants/cli-tenant"));
    }

    [Fact]
    public async Task Namespaces_and_their_policies_are_managed_from_the_command_line()
    {
        var tenant = await server.NewTenantAsync();
        await TieredAsync(0, "namespaces", "create", $"{tenant}/app");
        Assert.Equal([$"{tenant}/app"], JsonStrings(await TieredAsync(0, "namespaces", "list", tenant)));
        await TieredAsync(0, "namespaces", "set-retention", $"{tenant}/app", "--time", "-1", "--size", "512");
        await TieredAsync(0, "namespaces", "set-message-ttl", $"{tenant}/app", "--ttl", "90");
        await TieredAsync(0, "namespaces", "set-offload-threshold", $"{tenant}/app", "--size", "0");
        await TieredAsync(0, "namespaces", "set-offload-deletion-lag", $"{tenant}/app", "--lag", "1000");
        await TieredAsync(0, "namespaces", "set-offload-policies", $"{tenant}/app", "--driver", "aws-s3", "--bucket", "cold", "--endpoint", "http://127.0.0.1:9", "--path-style");
        Assert.Contains("bucket", await TieredAsync(1, "namespaces", "set-offload-policies", $"{tenant}/app", "--driver", "aws-s3"));
        using (var policies = JsonDocument.Parse(await TieredAsync(0, "namespaces", "policies", $"{tenant}/app")))
        {
            Assert.Equal(-1, policies.RootElement.GetProperty("retention_policies").GetProperty("retentionTimeInMinutes").GetInt32());
            Assert.Equal(512, policies.RootElement.GetProperty("retention_policies").GetProperty("retentionSizeInMB").GetInt64());
            Assert.Equal(90, policies.RootElement.GetProperty("message_ttl_in_seconds").GetInt32());
            Assert.Equal(0, policies.RootElement.GetProperty("offload_threshold").GetInt64());
            Assert.Equal(1000, policies.RootElement.GetProperty("offload_deletion_lag_ms").GetInt64());
            Assert.True(policies.RootElement.GetProperty("offload_policies").GetProperty("managedLedgerOffloadPathStyleAccess").GetBoolean());
        }
        await TieredAsync(0, "namespaces", "delete", $"{tenant}/app");
        Assert.Null(await server.StoredAsync($"/admin/policies/{tenant}/app"));
    }

    [Fact]
    public async Task Topics_and_subscriptions_are_managed_from_the_command_line()
    {
        var ns = await server.NewNamespaceAsync();
        await TieredAsync(0, "topics", "create", $"persistent://{ns}/plain");
        await TieredAsync(0, "topics", "create-partitioned", $"{ns}/wide", "--partitions", "2");
        Assert.Equal([$"persistent://{ns}/plain", $"persistent://{ns}/wide-partition-0", $"persistent://{ns}/wide-partition-1"],
            JsonStrings(await TieredAsync(0, "topics", "list", ns)));

        await TieredAsync(0, "topics", "create-subscription", $"{ns}/plain", "-s", "audit", "-m", "3:0");
        Assert.True(server.Topics.WasCalled($"CreateSubscription persistent://{ns}/plain audit at MessageIdData {{ LedgerId = 3, EntryId = 0, PartitionIndex = -1, BatchIndex = -1 }}"));
        Assert.Equal(["audit"], JsonStrings(await TieredAsync(0, "topics", "subscriptions", $"{ns}/plain")));
        await TieredAsync(0, "topics", "reset-cursor", $"{ns}/plain", "-s", "audit", "--time", "1700000000000");
        Assert.True(server.Topics.WasCalled($"ResetCursor persistent://{ns}/plain audit to time 1700000000000"));
        await TieredAsync(0, "topics", "reset-cursor", $"{ns}/plain", "-s", "audit", "--message-id", "4:2");
        await TieredAsync(0, "topics", "skip", $"{ns}/plain", "-s", "audit", "--count", "5");
        Assert.True(server.Topics.WasCalled($"Skip persistent://{ns}/plain audit 5"));
        await TieredAsync(0, "topics", "skip", $"{ns}/plain", "-s", "audit", "--all");
        Assert.True(server.Topics.WasCalled($"SkipAll persistent://{ns}/plain audit"));
        Assert.Contains("\"msgInCounter\": 42", await TieredAsync(0, "topics", "stats", $"{ns}/plain"));
        Assert.Contains("\"lastConfirmedEntry\": \"3:41\"", await TieredAsync(0, "topics", "internal-stats", $"{ns}/plain"));
        await TieredAsync(0, "topics", "offload", $"{ns}/plain", "-m", "3:10");
        await TieredAsync(0, "topics", "offload", $"{ns}/plain");
        Assert.True(server.Topics.WasCalled($"TriggerOffload persistent://{ns}/plain 3:10"));
        Assert.True(server.Topics.WasCalled($"TriggerOffload persistent://{ns}/plain all"));
        Assert.Contains("\"status\": \"NOT_RUN\"", await TieredAsync(0, "topics", "offload-status", $"{ns}/plain"));
        await TieredAsync(0, "topics", "delete-subscription", $"{ns}/plain", "-s", "audit", "--force");
        Assert.True(server.Topics.WasCalled($"DeleteSubscription persistent://{ns}/plain audit force=True"));

        await TieredAsync(0, "topics", "delete", $"{ns}/wide");
        Assert.True(server.Topics.WasCalled($"DeletePartitionedTopic persistent://{ns}/wide force=False"));
        await TieredAsync(0, "topics", "delete", $"{ns}/plain", "--force");
        Assert.True(server.Topics.WasCalled($"DeleteTopic persistent://{ns}/plain force=True"));
        Assert.Empty(JsonStrings(await TieredAsync(0, "topics", "list", ns)));
    }

    [Fact]
    public async Task A_refusal_exits_with_1_and_prints_the_servers_reason()
    {
        var output = await TieredAsync(1, "namespaces", "create", "no-such-tenant/app");
        Assert.Contains("error: Tenant no-such-tenant does not exist.", output);
        Assert.Contains("404", output);
        Assert.Null(await server.StoredAsync("/admin/policies/no-such-tenant/app"));

        Assert.Contains("error: Invalid namespace 'nonsense'", await TieredAsync(2, "namespaces", "policies", "nonsense"));
        Assert.Contains("exactly one of --count and --all", await TieredAsync(2, "topics", "skip", "t", "-s", "s"));
    }

    private static string[] JsonStrings(string output)
    {
        using var document = JsonDocument.Parse(output);
        return [.. document.RootElement.EnumerateArray().Select(e => e.GetString()!)];
    }
}
