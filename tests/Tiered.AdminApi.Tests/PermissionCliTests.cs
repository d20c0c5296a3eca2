using System.Text.Json;
using Tiered.Testing;

namespace Tiered.AdminApi.Tests;

/// <summary>`tiered admin namespaces|topics …permission…` as a real process against <see cref="AdminApiServer"/>.</summary>
public sealed class PermissionCliTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private async Task<string> TieredAsync(int expectedExitCode, params string[] args)
    {
        var (exitCode, output) = await TieredProcess.RunAsync(Timeout, ["admin", .. args, "--admin-url", server.Http.BaseAddress!.ToString()]);
        Assert.True(exitCode == expectedExitCode, $"tiered admin {string.Join(' ', args)} exited with {exitCode}, expected {expectedExitCode}:\n{output}");
        return output;
    }

    /// <summary>The JSON object printed, as role (or subscription) → names.</summary>
    private static Dictionary<string, string[]> Printed(string output)
    {
        var json = output[output.IndexOf('{', StringComparison.Ordinal)..(output.LastIndexOf('}') + 1)];
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => Expect.Strings(p.Value));
    }

    [Fact]
    public async Task Namespace_permissions_are_granted_listed_and_revoked_from_the_command_line()
    {
        var ns = await server.NewNamespaceAsync();
        await TieredAsync(0, "namespaces", "grant-permission", ns, "--role", "app", "--actions", "produce,consume");
        await TieredAsync(0, "namespaces", "grant-permission", ns, "-r", "reader", "-a", "consume");
        var listed = Printed(await TieredAsync(0, "namespaces", "permissions", ns));
        Assert.Equal(["consume", "produce"], listed["app"]);
        Assert.Equal(["consume"], listed["reader"]);
        Assert.Contains("\"namespace_auth\":{\"app\":[\"consume\",\"produce\"]", await server.StoredAsync($"/admin/policies/{ns}"), StringComparison.Ordinal);

        var before = await server.StoredAsync($"/admin/policies/{ns}");
        Assert.Contains("Unsupported action 'functions'", await TieredAsync(1, "namespaces", "grant-permission", ns, "--role", "app", "--actions", "functions"), StringComparison.Ordinal);
        Assert.Contains("--actions needs", await TieredAsync(2, "namespaces", "grant-permission", ns, "--role", "app", "--actions", ","), StringComparison.Ordinal);
        Assert.Contains("does not exist", await TieredAsync(1, "namespaces", "grant-permission", "public/nowhere", "--role", "app", "--actions", "produce"), StringComparison.Ordinal);
        Assert.Equal(before, await server.StoredAsync($"/admin/policies/{ns}"));

        await TieredAsync(0, "namespaces", "revoke-permission", ns, "--role", "app");
        await TieredAsync(0, "namespaces", "revoke-permission", ns, "--role", "reader");
        Assert.Empty(Printed(await TieredAsync(0, "namespaces", "permissions", ns)));
        Assert.Equal(AdminApiServer.CreatedPolicies, await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Fact]
    public async Task Subscription_restrictions_are_set_listed_narrowed_and_lifted_from_the_command_line()
    {
        var ns = await server.NewNamespaceAsync();
        await TieredAsync(0, "namespaces", "grant-subscription-permission", ns, "--subscription", "orders", "--roles", "billing, audit");
        Assert.Equal(["audit", "billing"], Printed(await TieredAsync(0, "namespaces", "subscription-permissions", ns))["orders"]);

        await TieredAsync(0, "namespaces", "revoke-subscription-permission", ns, "--subscription", "orders", "--role", "audit");
        Assert.Equal(["billing"], Printed(await TieredAsync(0, "namespaces", "subscription-permissions", ns))["orders"]);

        await TieredAsync(0, "namespaces", "revoke-subscription-permission", ns, "-s", "orders");
        Assert.Empty(Printed(await TieredAsync(0, "namespaces", "subscription-permissions", ns)));
        Assert.Equal(AdminApiServer.CreatedPolicies, await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Fact]
    public async Task Topic_permissions_are_granted_listed_with_the_namespaces_and_revoked_from_the_command_line()
    {
        var ns = await server.NewNamespaceAsync();
        await TieredAsync(0, "namespaces", "grant-permission", ns, "--role", "app", "--actions", "produce");
        await TieredAsync(0, "topics", "grant-permission", $"persistent://{ns}/t", "--role", "reader", "--actions", "consume");
        var listed = Printed(await TieredAsync(0, "topics", "permissions", $"{ns}/t"));
        Assert.Equal(["produce"], listed["app"]);
        Assert.Equal(["consume"], listed["reader"]);
        Assert.Contains($"\"destination_auth\":{{\"persistent://{ns}/t\":{{\"reader\":[\"consume\"]}}}}", await server.StoredAsync($"/admin/policies/{ns}"), StringComparison.Ordinal);

        Assert.Contains("no permissions set on topic", await TieredAsync(1, "topics", "revoke-permission", $"{ns}/t", "--role", "app"), StringComparison.Ordinal);
        await TieredAsync(0, "topics", "revoke-permission", $"{ns}/t", "--role", "reader");
        Assert.Equal(["app"], Printed(await TieredAsync(0, "topics", "permissions", $"{ns}/t")).Keys);
    }

    [Theory]
    [InlineData("namespaces grant-permission", "--actions")]
    [InlineData("namespaces revoke-permission", "--role")]
    [InlineData("namespaces permissions", "{role: [actions]}")]
    [InlineData("namespaces grant-subscription-permission", "--roles")]
    [InlineData("namespaces revoke-subscription-permission", "--subscription")]
    [InlineData("namespaces subscription-permissions", "{subscription: [roles]}")]
    [InlineData("topics grant-permission", "every partition")]
    [InlineData("topics revoke-permission", "namespace-level grants stay")]
    [InlineData("topics permissions", "united")]
    public async Task Every_permission_subcommand_explains_itself_with_help(string command, string expected)
        => Assert.Contains(expected, await TieredAsync(0, [.. command.Split(' '), "--help"]), StringComparison.Ordinal);
}
