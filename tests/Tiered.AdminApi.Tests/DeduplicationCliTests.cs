using Tiered.Testing;

namespace Tiered.AdminApi.Tests;

/// <summary>`tiered admin namespaces|topics …-deduplication` as a real process against <see cref="AdminApiServer"/> (broker default: on).</summary>
public sealed class DeduplicationCliTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private async Task<string> TieredAsync(int expectedExitCode, params string[] args)
    {
        var (exitCode, output) = await TieredProcess.RunAsync(Timeout, ["admin", .. args, "--admin-url", server.Http.BaseAddress!.ToString()]);
        Assert.True(exitCode == expectedExitCode, $"tiered admin {string.Join(' ', args)} exited with {exitCode}, expected {expectedExitCode}:\n{output}");
        return output;
    }

    /// <summary>The JSON value printed (stdout and stderr are interleaved in the output; a note may be on stderr).</summary>
    internal static string Value(string output)
        => Assert.Single(output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), line => line is "true" or "false" or "null");

    [Fact]
    public async Task Namespace_deduplication_is_set_read_and_removed_from_the_command_line()
    {
        var ns = await server.NewNamespaceAsync();
        var unset = await TieredAsync(0, "namespaces", "get-deduplication", ns);
        Assert.Equal("null", Value(unset));
        Assert.Contains("--deduplication-enabled", unset, StringComparison.Ordinal);

        await TieredAsync(0, "namespaces", "set-deduplication", ns, "--disable");
        Assert.Equal("false", Value(await TieredAsync(0, "namespaces", "get-deduplication", ns)));
        Assert.Contains("\"deduplicationEnabled\":false", await server.StoredAsync($"/admin/policies/{ns}"), StringComparison.Ordinal);
        await TieredAsync(0, "namespaces", "set-deduplication", ns, "-e");
        Assert.Equal("true", Value(await TieredAsync(0, "namespaces", "get-deduplication", ns)));

        Assert.Contains("exactly one of --enable and --disable", await TieredAsync(2, "namespaces", "set-deduplication", ns), StringComparison.Ordinal);
        Assert.Contains("exactly one of --enable and --disable", await TieredAsync(2, "namespaces", "set-deduplication", ns, "--enable", "--disable"), StringComparison.Ordinal);
        Assert.Contains("does not exist", await TieredAsync(1, "namespaces", "set-deduplication", "public/nowhere", "--enable"), StringComparison.Ordinal);

        await TieredAsync(0, "namespaces", "remove-deduplication", ns);
        Assert.Equal("null", Value(await TieredAsync(0, "namespaces", "get-deduplication", ns)));
        Assert.DoesNotContain("deduplication", await server.StoredAsync($"/admin/policies/{ns}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Topic_deduplication_is_set_read_applied_and_removed_from_the_command_line()
    {
        var ns = await server.NewNamespaceAsync();
        await TieredAsync(0, "topics", "create", $"{ns}/t");
        Assert.Equal("null", Value(await TieredAsync(0, "topics", "get-deduplication", $"{ns}/t")));
        Assert.Equal("true", Value(await TieredAsync(0, "topics", "get-deduplication", $"{ns}/t", "--applied")));

        await TieredAsync(0, "namespaces", "set-deduplication", ns, "--disable");
        Assert.Equal("false", Value(await TieredAsync(0, "topics", "get-deduplication", $"persistent://{ns}/t", "-a")));
        await TieredAsync(0, "topics", "set-deduplication", $"{ns}/t", "--enable");
        Assert.Equal("true", Value(await TieredAsync(0, "topics", "get-deduplication", $"{ns}/t")));
        Assert.Equal("true", Value(await TieredAsync(0, "topics", "get-deduplication", $"{ns}/t", "--applied")));
        Assert.Equal("""{"deduplicationEnabled":true}""", await server.StoredAsync($"/admin/topic-policies/{ns}/persistent/t"));

        Assert.Contains("does not exist", await TieredAsync(1, "topics", "set-deduplication", $"{ns}/ghost", "--enable"), StringComparison.Ordinal);
        Assert.Null(await server.StoredAsync($"/admin/topic-policies/{ns}/persistent/ghost"));

        await TieredAsync(0, "topics", "remove-deduplication", $"{ns}/t");
        Assert.Equal("null", Value(await TieredAsync(0, "topics", "get-deduplication", $"{ns}/t")));
        Assert.Equal("false", Value(await TieredAsync(0, "topics", "get-deduplication", $"{ns}/t", "--applied")));
        Assert.Null(await server.StoredAsync($"/admin/topic-policies/{ns}/persistent/t"));
    }

    [Theory]
    [InlineData("namespaces set-deduplication", "--enable")]
    [InlineData("namespaces get-deduplication", "null when unset")]
    [InlineData("namespaces remove-deduplication", "applies again")]
    [InlineData("topics set-deduplication", "--disable")]
    [InlineData("topics get-deduplication", "--applied")]
    [InlineData("topics remove-deduplication", "namespace's setting applies again")]
    public async Task Every_deduplication_subcommand_explains_itself_with_help(string command, string expected)
        => Assert.Contains(expected, await TieredAsync(0, [.. command.Split(' '), "--help"]), StringComparison.Ordinal);
}

/// <summary>`tiered standalone --deduplication-enabled false`: the broker-wide default the policies fall back to.</summary>
public sealed class DeduplicationDefaultStandaloneTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_broker_default_set_by_flag_is_what_applies_where_nothing_is_set()
    {
        using var standalone = new Standalone("--deduplication-enabled", "false");
        await standalone.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(standalone.AdminUrl) };
        await Expect.NoContentAsync(await http.PutAsync("/admin/v2/persistent/public/default/t", null));

        Assert.False((await Expect.OkAsync(await http.GetAsync("/admin/v2/persistent/public/default/t/deduplicationEnabled?applied=true"))).GetBoolean());
        await Expect.NoContentAsync(await http.PostAsync("/admin/v2/namespaces/public/default/deduplication", AdminApiServer.Json("true")));
        var (exitCode, output) = await TieredProcess.RunAsync(Timeout, ["admin", "topics", "get-deduplication", "t", "--applied", "--admin-url", standalone.AdminUrl]);
        Assert.True(exitCode == 0, output);
        Assert.Equal("true", DeduplicationCliTests.Value(output));
    }
}
