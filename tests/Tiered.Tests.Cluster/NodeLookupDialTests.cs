using System.Diagnostics;
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
        var script = Path.Combine(TieredProcess.RepositoryRoot, "tests", "node", "lookup-dial.js");
        Assert.True(Directory.Exists(Path.Combine(TieredProcess.RepositoryRoot, "tests", "node", "node_modules")),
            "tests/node/node_modules is missing: run ./test.sh (it runs npm ci there).");
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { script, $"127.0.0.1:{port}", "persistent://public/default/dialed-from-node", "10" })
            info.ArgumentList.Add(arg);
        using var node = Process.Start(info)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await node.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!node.HasExited)
                node.Kill();
        }

        Assert.True(node.ExitCode == 0, $"node exited with {node.ExitCode}: {await output}{await errors}");
        var line = await output;
        Assert.Contains($"\"brokerAddress\":\"127.0.0.1:{port}\"", line, StringComparison.Ordinal);
        Assert.Contains("\"brokerTls\":false", line, StringComparison.Ordinal);
        Assert.Contains("\"consumed\":10,\"complete\":true", line, StringComparison.Ordinal);
    }
}
