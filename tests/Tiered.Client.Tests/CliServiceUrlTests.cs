using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Tiered.Testing;

namespace Tiered.Client.Tests;

/// <summary>`tiered produce` / `consume` (the real CLI, a child process) given a service URL that names several hosts.</summary>
public class CliServiceUrlTests
{
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Produce_and_consume_reach_the_broker_behind_the_second_host_when_the_first_is_a_closed_port()
    {
        await using var broker = await FakeBroker.StartAsync();
        var serviceUrl = $"http://127.0.0.1:{TieredProcess.FreePort()},{new Uri(broker.Url).Authority}";

        var (produced, produceOutput) = await TieredProcess.RunAsync(Run, "produce", "orders", "--message", "hello", "--service-url", serviceUrl);
        var (consumed, consumeOutput) = await TieredProcess.RunAsync(Run, "consume", "orders", "--subscription", "s", "--from", "earliest", "--count", "1", "--url", serviceUrl);

        Assert.True(produced == 0, produceOutput);
        Assert.True(consumed == 0, consumeOutput);
        Assert.Equal(1, broker.Topic("orders").Count);
        Assert.Contains("hello", consumeOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_every_host_down_produce_fails_naming_each_host()
    {
        var (first, second) = (TieredProcess.FreePort(), TieredProcess.FreePort());

        var (code, output) = await TieredProcess.RunAsync(Run, "produce", "orders", "--message", "hello", "--url", $"http://127.0.0.1:{first},127.0.0.1:{second}");

        Assert.True(code == 1, output);
        Assert.Contains($"http://127.0.0.1:{first}: ", output, StringComparison.Ordinal);
        Assert.Contains($"http://127.0.0.1:{second}: ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_host_in_the_list_is_refused_as_a_bad_option_naming_it()
    {
        var (code, output) = await TieredProcess.RunAsync(Run, "produce", "orders", "--message", "hello", "--url", "http://127.0.0.1:6650,127.0.0.1:port");

        Assert.True(code == 2, output);
        Assert.Contains("'127.0.0.1:port'", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_port_among_the_hosts_is_named_as_the_mistake()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1));
        await using var admin = builder.Build();
        admin.MapGet("/", () => "admin");
        await admin.StartAsync();
        var adminAuthority = new Uri(admin.Urls.First()).Authority;

        var (code, output) = await TieredProcess.RunAsync(Run, "produce", "orders", "--message", "hello", "--url", $"http://127.0.0.1:{TieredProcess.FreePort()},{adminAuthority}");

        Assert.True(code == 1, output);
        Assert.Contains($"--url {adminAuthority} looks like the admin REST port", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("produce")]
    [InlineData("consume")]
    [InlineData("perf produce")]
    [InlineData("perf consume")]
    public async Task Help_says_the_service_url_may_name_several_brokers(string command)
    {
        var (code, output) = await TieredProcess.RunAsync(Run, [.. command.Split(' '), "--help"]);

        Assert.True(code == 0, output);
        Assert.Contains("--service-url", output, StringComparison.Ordinal);
        Assert.Contains("several, comma separated", output, StringComparison.Ordinal);
    }
}
