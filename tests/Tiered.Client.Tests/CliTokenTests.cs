using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Tiered.Testing;

namespace Tiered.Client.Tests;

/// <summary>`tiered produce|consume|admin --token|--token-file` and TIERED_TOKEN (the real CLI, a child process) send the token.</summary>
public sealed class CliTokenTests : IDisposable
{
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(90);
    private readonly string _dir = Directory.CreateTempSubdirectory("tiered-cli-token-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Produce_sends_the_token_option_and_consume_the_token_of_TIERED_TOKEN()
    {
        await using var broker = await FakeBroker.StartAsync();

        var (produced, produceOutput) = await TieredProcess.RunAsync(Run, "produce", "orders", "--message", "hello", "--url", broker.Url, "--token", "cli-token");
        var (consumed, consumeOutput) = await TieredProcess.RunAsync(Run, new Dictionary<string, string> { ["TIERED_TOKEN"] = "env-token" },
            "consume", "orders", "--subscription", "s", "--from", "earliest", "--count", "1", "--url", broker.Url);

        Assert.True(produced == 0, produceOutput);
        Assert.True(consumed == 0, consumeOutput);
        Assert.Equal(["Bearer cli-token"], broker.AuthorizationsOf("Produce"));
        Assert.Equal(["Bearer env-token"], broker.AuthorizationsOf("Consume"));
        Assert.DoesNotContain("cli-token", produceOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Perf_produce_sends_the_token_of_token_file_on_every_producer_stream()
    {
        var tokenFile = Path.Combine(_dir, "perf-token");
        await File.WriteAllTextAsync(tokenFile, "perf-token\n");
        await using var broker = await FakeBroker.StartAsync();

        var (code, output) = await TieredProcess.RunAsync(Run, "perf", "produce", "load", "--rate", "100", "--duration", "1", "--producers", "2", "--url", broker.Url, "--token-file", tokenFile);

        Assert.True(code == 0, output);
        Assert.Equal(["Bearer perf-token", "Bearer perf-token"], broker.AuthorizationsOf("Produce"));
    }

    [Fact]
    public async Task Token_and_token_file_together_are_a_bad_option()
    {
        var (code, output) = await TieredProcess.RunAsync(Run, "produce", "orders", "--message", "hello", "--token", "a", "--token-file", "b");

        Assert.True(code == 2, output);
        Assert.Contains("not both", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_sends_the_token_of_token_file_as_the_authorization_header()
    {
        var tokenFile = Path.Combine(_dir, "token");
        await File.WriteAllTextAsync(tokenFile, "admin-token\n");
        var seen = new ConcurrentQueue<string?>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1));
        await using var admin = builder.Build();
        admin.MapGet("/admin/v2/tenants", (HttpRequest request) =>
        {
            seen.Enqueue(request.Headers.Authorization.ToString());
            return Results.Json(new[] { "public" });
        });
        await admin.StartAsync();

        var (code, output) = await TieredProcess.RunAsync(Run, "admin", "tenants", "list", "--admin-url", admin.Urls.First(), "--token-file", tokenFile);
        var (missing, missingOutput) = await TieredProcess.RunAsync(Run, "admin", "tenants", "list", "--admin-url", admin.Urls.First(), "--token-file", tokenFile + ".missing");

        Assert.True(code == 0, output);
        Assert.Contains("public", output, StringComparison.Ordinal);
        Assert.Equal(["Bearer admin-token"], seen);
        Assert.True(missing == 2, missingOutput);
        Assert.Contains("cannot read the token file", missingOutput, StringComparison.Ordinal);
    }
}
