using System.Text.Json;
using Tiered.Testing;

namespace Tiered.AdminApi.Tests;

/// <summary>`tiered standalone`, whose broker reaches its bookie in-process: the bookie still reports its disk use.</summary>
public sealed class BookieDiskUseStandaloneTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_standalone_bookie_reports_its_disk_use_through_the_admin_api_and_the_command_line()
    {
        using var standalone = new Standalone();
        await standalone.StartAsync();

        using var http = new HttpClient { BaseAddress = new Uri(standalone.AdminUrl) };
        var bookie = Assert.Single((await Expect.OkAsync(await http.GetAsync("/admin/v2/bookies/all"))).GetProperty("bookies").EnumerateArray());
        Assert.Equal($"127.0.0.1:{standalone.BookiePort}", bookie.GetProperty("bookieId").GetString());
        Assert.True(bookie.GetProperty("reachable").GetBoolean(), bookie.ToString());
        Assert.True(bookie.GetProperty("freeSpace").GetInt64() > 0 && bookie.GetProperty("usedSpace").GetInt64() > 0, bookie.ToString());
        Assert.Equal(bookie.GetProperty("totalSpace").GetInt64(), bookie.GetProperty("freeSpace").GetInt64() + bookie.GetProperty("usedSpace").GetInt64());

        var (exitCode, output) = await TieredProcess.RunAsync(Timeout, ["admin", "bookies", "list", "--admin-url", standalone.AdminUrl]);
        Assert.True(exitCode == 0, output);
        using var listed = JsonDocument.Parse(output);
        var line = Assert.Single(listed.RootElement.GetProperty("bookies").EnumerateArray());
        Assert.True(line.GetProperty("reachable").GetBoolean(), output);
        Assert.True(line.GetProperty("freeSpace").GetInt64() > 0, output);
    }
}
