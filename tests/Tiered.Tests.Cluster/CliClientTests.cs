using System.Globalization;
using Tiered.Testing;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>`tiered produce`, `consume` and `admin` as a user runs them against `tiered standalone`.</summary>
public sealed class CliClientTests
{
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Produce_consume_and_admin_work_against_standalone_and_exit_0()
    {
        using var standalone = new Standalone();
        await standalone.StartAsync();
        var url = standalone.Url;

        var (code, output) = await TieredProcess.RunAsync(Run, "admin", "topics", "create", "cli-topic", "--admin-url", standalone.AdminUrl);
        Assert.True(code == 0, output);
        (code, output) = await TieredProcess.RunAsync(Run, "admin", "topics", "create-subscription", "cli-topic", "--subscription", "s", "--admin-url", standalone.AdminUrl);
        Assert.True(code == 0, output);
        (code, output) = await TieredProcess.RunAsync(Run, "produce", "cli-topic", "--count", "200", "--size", "64", "--url", url);
        Assert.True(code == 0, output);
        (code, output) = await TieredProcess.RunAsync(Run, "produce", "cli-topic", "--message", "hello from the cli", "--url", url);
        Assert.True(code == 0, output);

        (code, output) = await TieredProcess.RunAsync(Run, "admin", "topics", "stats", "cli-topic", "--admin-url", standalone.AdminUrl);
        Assert.True(code == 0, output);
        Assert.Contains("\"msgInCounter\": 201", output, StringComparison.Ordinal);

        (code, output) = await TieredProcess.RunAsync(Run, "consume", "cli-topic", "--subscription", "s", "--count", "201", "--url", url);
        Assert.True(code == 0, output);
        Assert.Contains("hello from the cli", output, StringComparison.Ordinal);

        // Everything was acknowledged: the backlog is empty.
        (code, output) = await TieredProcess.RunAsync(Run, "admin", "topics", "stats", "cli-topic", "--admin-url", standalone.AdminUrl);
        Assert.Contains("\"msgBacklog\": 0", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\"isReplicated\": true", output, StringComparison.Ordinal);

        // A subscription whose state follows it across clusters (geo-replication) says so in the stats.
        (code, output) = await TieredProcess.RunAsync(Run, "consume", "cli-topic", "--subscription", "r", "--from", "earliest", "--count", "1",
            "--replicate-subscription-state", "--url", url);
        Assert.True(code == 0, output);
        (code, output) = await TieredProcess.RunAsync(Run, "admin", "topics", "stats", "cli-topic", "--admin-url", standalone.AdminUrl);
        Assert.Contains("\"isReplicated\": true", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_and_admin_commands_given_each_others_port_say_which_port_they_want()
    {
        using var standalone = new Standalone();
        await standalone.StartAsync();
        string[][] clientCommands =
        [
            ["produce", "t", "--message", "x"],
            ["consume", "t", "--subscription", "s", "--count", "1"],
            ["perf", "produce", "t", "--duration", "1"],
            ["perf", "consume", "t", "--duration", "1"],
        ];
        foreach (var command in clientCommands)
        {
            var (code, output) = await TieredProcess.RunAsync(Run, [.. command, "--url", standalone.AdminUrl]);
            Assert.True(code == 1, output);
            Assert.Contains($"--url 127.0.0.1:{standalone.HttpPort} looks like the admin REST port", output, StringComparison.Ordinal);
            Assert.Contains("gRPC port (default 6650)", output, StringComparison.Ordinal);
        }

        foreach (var command in new[] { new[] { "admin", "tenants", "list" }, ["admin", "topics", "list", "public/default"] })
        {
            var (code, output) = await TieredProcess.RunAsync(Run, [.. command, "--admin-url", standalone.Url]);
            Assert.True(code == 1, output);
            Assert.Contains($"--admin-url 127.0.0.1:{standalone.GrpcPort} looks like a broker's gRPC port", output, StringComparison.Ordinal);
            Assert.Contains("admin REST port (default 8080)", output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("produce", "t", "--count", "0")]
    [InlineData("produce", "t")]
    [InlineData("consume", "t")]
    [InlineData("consume", "t", "--subscription", "s", "--type", "Sometimes")]
    [InlineData("perf", "produce", "t", "--size", "-1")]
    public async Task Client_commands_reject_bad_options_with_exit_code_2(params string[] args)
    {
        var (code, output) = await TieredProcess.RunAsync(Run, args);
        Assert.True(code == 2, output);
        Assert.Contains("error", output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Produce_without_a_broker_fails_with_exit_code_1_and_says_so()
    {
        var url = $"http://127.0.0.1:{TieredProcess.FreePort().ToString(CultureInfo.InvariantCulture)}";
        var (code, output) = await TieredProcess.RunAsync(Run, "produce", "t", "--message", "x", "--url", url);
        Assert.True(code == 1, output);
        Assert.Contains("error:", output, StringComparison.Ordinal);
    }
}
