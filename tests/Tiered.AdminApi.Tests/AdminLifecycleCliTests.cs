using System.Text.Json;
using Tiered.Testing;

namespace Tiered.AdminApi.Tests;

/// <summary>The `tiered admin` subcommands of the topic lifecycle and the cluster view, as a real process against <see cref="AdminApiServer"/>.</summary>
public sealed class AdminLifecycleCliTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private async Task<string> TieredAsync(int expectedExitCode, params string[] args)
    {
        var (exitCode, output) = await TieredProcess.RunAsync(Timeout, ["admin", .. args, "--admin-url", server.Http.BaseAddress!.ToString()]);
        Assert.True(exitCode == expectedExitCode, $"tiered admin {string.Join(' ', args)} exited with {exitCode}, expected {expectedExitCode}:\n{output}");
        return output;
    }

    [Fact]
    public async Task Partitions_termination_expiry_and_backlog_are_managed_from_the_command_line()
    {
        var ns = await server.NewNamespaceAsync();
        await TieredAsync(0, "topics", "create", $"{ns}/plain");
        await TieredAsync(0, "topics", "create-subscription", $"{ns}/plain", "-s", "audit");
        await TieredAsync(0, "topics", "create-partitioned", $"{ns}/wide", "--partitions", "2");

        await TieredAsync(0, "topics", "update-partitioned", $"{ns}/wide", "--partitions", "3");
        Assert.True(server.Topics.WasCalled($"UpdatePartitionedTopic persistent://{ns}/wide 3"));
        Assert.Contains("shrink", await TieredAsync(1, "topics", "update-partitioned", $"{ns}/wide", "-p", "1"));

        using (var end = JsonDocument.Parse(await TieredAsync(0, "topics", "terminate", $"{ns}/plain")))
            Assert.Equal(41, end.RootElement.GetProperty("entryId").GetInt64());
        await TieredAsync(0, "topics", "terminate", $"{ns}/wide");
        Assert.True(server.Topics.WasCalled($"TerminatePartitionedTopic persistent://{ns}/wide"));

        await TieredAsync(0, "topics", "expire-messages", $"{ns}/plain", "-s", "audit", "--expire-time", "60");
        Assert.True(server.Topics.WasCalled($"ExpireMessages persistent://{ns}/plain audit 60"));
        await TieredAsync(0, "topics", "expire-messages-all-subscriptions", $"{ns}/plain", "-t", "0");
        Assert.True(server.Topics.WasCalled($"ExpireMessages persistent://{ns}/plain (all) 0"));
        Assert.Contains("0 or more seconds", await TieredAsync(2, "topics", "expire-messages", $"{ns}/plain", "-s", "audit", "-t", "-5"));

        Assert.Contains($"persistent://{ns}/plain", await TieredAsync(0, "namespaces", "topics", ns));
        await TieredAsync(0, "namespaces", "clear-backlog", ns, "-s", "audit");
        Assert.True(server.Topics.WasCalled($"ClearNamespaceBacklog {ns} audit"));
        await TieredAsync(0, "namespaces", "clear-backlog", ns);
        Assert.True(server.Topics.WasCalled($"ClearNamespaceBacklog {ns} (all)"));
    }

    [Fact]
    public async Task Brokers_and_bookies_are_listed_from_the_command_line()
    {
        await server.Store.PutAsync("/bookies/readonly/10.0.0.9:3181", "10.0.0.9:3181"u8.ToArray());
        try
        {
            Assert.Equal("[]", (await TieredAsync(0, "brokers", "list", "standalone")).Trim());
            Assert.Contains("error: Cluster nowhere does not exist.", await TieredAsync(1, "brokers", "list", "nowhere"));
            using (var bookies = JsonDocument.Parse(await TieredAsync(0, "bookies", "list")))
            {
                var bookie = Assert.Single(bookies.RootElement.GetProperty("bookies").EnumerateArray());
                Assert.Equal("10.0.0.9:3181", bookie.GetProperty("bookieId").GetString());
                Assert.Equal("read-only", bookie.GetProperty("state").GetString());
            }
            Assert.Contains("/default-rack", await TieredAsync(0, "bookies", "racks-info"));
        }
        finally
        {
            await server.Store.DeleteAsync("/bookies/readonly/10.0.0.9:3181");
        }
    }

    [Fact]
    public async Task A_bookie_is_decommissioned_from_the_command_line_and_refused_when_too_few_would_remain()
    {
        // One registered bookie (read-only), and a ledger of ensemble size 1 on a bookie that is gone.
        const string bookie = "10.0.0.8:3181", lost = "10.0.0.6:3181";
        const long ledgerId = 987_654_321;
        var ledger = new Tiered.Bookie.V1.LedgerMetadata
        {
            EnsembleSize = 1, WriteQuorum = 1, AckQuorum = 1, State = Tiered.Bookie.V1.LedgerMetadata.Types.State.Closed, LastEntryId = 9,
            Segments = { new Tiered.Bookie.V1.Segment { FirstEntryId = 0, Bookies = { lost } } },
        };
        await server.Store.PutAsync(Tiered.Ledger.BookiePaths.ReadOnlyKey(bookie), System.Text.Encoding.UTF8.GetBytes(bookie));
        await server.Store.PutAsync(Tiered.Ledger.LedgerMetadataStore.Key(ledgerId), Google.Protobuf.MessageExtensions.ToByteArray(ledger));
        try
        {
            using (var counts = JsonDocument.Parse(await TieredAsync(0, "bookies", "under-replicated")))
            {
                Assert.Equal(0, counts.RootElement.GetProperty(bookie).GetInt32());
                Assert.Equal(1, counts.RootElement.GetProperty(lost).GetInt32());
            }
            Assert.Contains("error: No bookie 10.0.0.7:1", await TieredAsync(1, "bookies", "decommission", "10.0.0.7:1"));
            Assert.Contains("not being decommissioned", await TieredAsync(1, "bookies", "decommission-status", bookie));

            // Ensembles of 1 and no writable bookie: refused, and nothing is stored.
            Assert.Contains("largest ensemble size in use (1)", await TieredAsync(1, "bookies", "decommission", bookie));
            Assert.Null(await server.Store.GetAsync(Tiered.Ledger.BookiePaths.DecommissioningKey(bookie)));

            // Without that ledger nothing needs the bookie: Done at once, and --wait returns.
            await server.Store.DeleteAsync(Tiered.Ledger.LedgerMetadataStore.Key(ledgerId));
            using (var progress = JsonDocument.Parse(await TieredAsync(0, "bookies", "decommission", bookie)))
            {
                Assert.Equal(bookie, progress.RootElement.GetProperty("bookieId").GetString());
                Assert.Equal("Done", progress.RootElement.GetProperty("state").GetString());
                Assert.True(progress.RootElement.GetProperty("readOnly").GetBoolean());
                Assert.Equal(0, progress.RootElement.GetProperty("ledgersRemaining").GetInt32());
            }
            Assert.NotNull(await server.Store.GetAsync(Tiered.Ledger.BookiePaths.DecommissioningKey(bookie)));
            Assert.Contains("\"Done\"", await TieredAsync(0, "bookies", "decommission", bookie, "--wait", "--timeout", "30"));
            Assert.Contains("\"Done\"", await TieredAsync(0, "bookies", "decommission-status", bookie));
        }
        finally
        {
            await server.Store.DeleteAsync(Tiered.Ledger.LedgerMetadataStore.Key(ledgerId));
            await server.Store.DeleteAsync(Tiered.Ledger.BookiePaths.DecommissioningKey(bookie));
            await server.Store.DeleteAsync(Tiered.Ledger.BookiePaths.ReadOnlyKey(bookie));
        }
    }

    [Theory]
    [InlineData("bookies decommission", "read-only for good")]
    [InlineData("bookies decommission-status", "Draining or Done")]
    [InlineData("bookies under-replicated", "need a copy")]
    [InlineData("topics update-partitioned", "partitions may only grow")]
    [InlineData("topics terminate", "producers are refused")]
    [InlineData("topics expire-messages", "--expire-time")]
    [InlineData("topics expire-messages-all-subscriptions", "every subscription")]
    [InlineData("namespaces topics", "partitions included")]
    [InlineData("namespaces clear-backlog", "--subscription")]
    [InlineData("brokers list", "live brokers")]
    [InlineData("bookies list", "writable or read-only")]
    [InlineData("bookies racks-info", "rack")]
    public async Task Every_new_subcommand_explains_itself_with_help(string command, string expected)
        => Assert.Contains(expected, await TieredAsync(0, [.. command.Split(' '), "--help"]));
}
