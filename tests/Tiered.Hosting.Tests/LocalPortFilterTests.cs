using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Tiered.Testing;

namespace Tiered.Hosting.Tests;

/// <summary>One Kestrel server, several endpoints: each answers only on the ports it belongs to, and the operations endpoints on the HTTP ports.</summary>
public sealed class LocalPortFilterTests
{
    [Fact]
    public async Task An_endpoint_answers_on_its_own_port_and_404_on_another_of_the_same_server()
    {
        var (mine, other) = (LocalMetadata.FreePort(), LocalMetadata.FreePort());
        var builder = TieredHost.CreateBuilder();
        var listeners = TieredListeners.Of(builder);
        listeners.Http($"127.0.0.1:{mine}", "--mine");
        listeners.Http($"127.0.0.1:{other}", "--other");
        builder.Services.AddSingleton<ITieredEndpoints>(new Hello(mine));
        await using var app = TieredHost.Build(builder);
        await app.StartAsync();
        using var http = new HttpClient();

        Assert.Equal("hello", await http.GetStringAsync($"http://127.0.0.1:{mine}/hello"));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"http://127.0.0.1:{other}/hello")).StatusCode);
        // Both are HTTP/1.1 endpoints: the operations endpoints answer on each.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{other}/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{mine}/health/ready")).StatusCode);
        Assert.StartsWith("text/plain", (await http.GetAsync($"http://127.0.0.1:{mine}/metrics")).Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        await app.StopAsync();
    }

    [Fact]
    public void One_port_cannot_be_both_a_grpc_and_an_http_endpoint()
    {
        var listeners = new TieredListeners();
        var port = LocalMetadata.FreePort();
        listeners.Grpc($"127.0.0.1:{port}", "--grpc-listen");
        listeners.Http($"127.0.0.1:{port + 1}", "--http-listen");
        // Sharing an HTTP endpoint between roles is fine (standalone does).
        listeners.Http($"127.0.0.1:{port + 1}", "--http-listen");
        var error = Assert.Throws<ArgumentException>(() => listeners.Http($"0.0.0.0:{port}", "--http-listen"));
        Assert.Contains($"port {port} is already used", error.Message, StringComparison.Ordinal);
    }

    private sealed class Hello(int port) : ITieredEndpoints
    {
        public void Map(WebApplication app) => app.MapGet("/hello", () => Results.Text("hello")).RequireLocalPort(port);
    }
}
