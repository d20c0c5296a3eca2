using System.Diagnostics;

namespace Tiered.Testing;

/// <summary>A program of tests/node (gRPC clients of client.proto, DuckDB) run to its end: stacks other than .NET.</summary>
public static class NodeScript
{
    public static string Folder => Path.Combine(TieredProcess.RepositoryRoot, "tests", "node");

    /// <summary>Runs `node tests/node/SCRIPT ARGS…` in tests/node; past <paramref name="timeout"/> it is killed and this throws.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string script, TimeSpan timeout, params string[] args)
    {
        if (!Directory.Exists(Path.Combine(Folder, "node_modules")))
            throw new InvalidOperationException("tests/node/node_modules is missing: run ./test.sh (it installs the npm packages there).");
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Folder };
        info.ArgumentList.Add(Path.Combine(Folder, script));
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var node = Process.Start(info) ?? throw new InvalidOperationException("Cannot start node: is Node.js installed?");
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();
        try
        {
            await node.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            node.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {script} did not finish within {timeout.TotalSeconds:0} s: {await error}");
        }
        return (node.ExitCode, await output, await error);
    }
}
