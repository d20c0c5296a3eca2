using System.Globalization;
using Tiered.Testing;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>A grpc-js client (tests/node/lookup-dial.js) dials the broker that Lookup names, as Lookup names it.</summary>
public sealed class NodeLookupDialTests
{
    [Fact]
    public async Task A_node_client_dials_the_address_lookup_returns_and_produces_and_consumes_there()
    {
        using var standalone = new Standalone();
        await standalone.StartAsync();
        var port = standalone.GrpcPort.ToString(CultureInfo.InvariantCulture);
        var (exit, line, errors) = await NodeScript.RunAsync("lookup-dial.js", TimeSpan.FromSeconds(90), $"127.0.0.1:{port}", "persistent://public/default/dialed-from-node", "10");
        Assert.True(exit == 0, $"node exited with {exit}: {line}{errors}");
        Assert.Contains($"\"brokerAddress\":\"127.0.0.1:{port}\"", line, StringComparison.Ordinal);
        Assert.Contains("\"brokerTls\":false", line, StringComparison.Ordinal);
        Assert.Contains("\"consumed\":10,\"complete\":true", line, StringComparison.Ordinal);
    }
}
