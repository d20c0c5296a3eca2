using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Tiered.Kubernetes.Tests;

/// <summary>
/// The programs these tests run: <c>kubectl kustomize</c> (the real renderer) and the Node.js
/// programs of tests/k8s (the kubernetes-models validator, YAML to JSON).
/// </summary>
internal static class Tools
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The folder holding Tiered.sln, above the test assembly.</summary>
    public static string RepositoryRoot => Tiered.Testing.TieredProcess.RepositoryRoot;

    public static string NodeFolder => Path.Combine(RepositoryRoot, "tests", "k8s");

    /// <summary>`kubectl kustomize DIR` (DIR relative to the repository root): the rendered YAML, or the error.</summary>
    public static async Task<(string? Yaml, string Error)> KustomizeAsync(string directory)
    {
        var (exitCode, output, error) = await RunAsync("kubectl", RepositoryRoot, "kustomize", directory);
        return exitCode == 0 ? (output, error) : (null, $"kubectl kustomize {directory} failed ({exitCode}): {error}");
    }

    /// <summary>`node tests/k8s/validate.mjs PATH…`: its exit code and its lines.</summary>
    public static Task<(int ExitCode, string Output, string Error)> ValidateAsync(params string[] paths)
        => RunNodeAsync("validate.mjs", paths);

    /// <summary>The objects of YAML files, as JSON.</summary>
    public static async Task<JsonArray> ObjectsAsync(string yamlFile)
    {
        var (exitCode, output, error) = await RunNodeAsync("to-json.mjs", [yamlFile]);
        Assert.True(exitCode == 0, $"to-json.mjs {yamlFile} failed ({exitCode}): {error}");
        return JsonNode.Parse(output)!.AsArray();
    }

    private static Task<(int ExitCode, string Output, string Error)> RunNodeAsync(string script, string[] args)
    {
        if (!Directory.Exists(Path.Combine(NodeFolder, "node_modules")))
            throw new InvalidOperationException("tests/k8s/node_modules is missing: run ./test.sh (it installs the npm packages there).");
        return RunAsync("node", NodeFolder, [Path.Combine(NodeFolder, script), .. args]);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string program, string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"Cannot start {program}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"Cannot start {program} ({e.Message}): ./test.sh installs it (kubectl: Debian's kubernetes-client when the machine has none; node: nodejs).", e);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            try
            {
                await process.WaitForExitAsync().WaitAsync(Timeout);
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {Timeout.TotalSeconds:0} s: {await error}");
            }
            return (process.ExitCode, await output, await error);
        }
    }
}

/// <summary>k8s/base and k8s/overlays/example rendered once for a test class, as files and as JSON objects.</summary>
public sealed class RenderedManifests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tiered-k8s-").FullName;

    public string BaseFile => Path.Combine(_folder, "base.yaml");

    public string OverlayFile => Path.Combine(_folder, "example.yaml");

    private JsonArray? _base, _overlay;
    private string _baseError = "", _overlayError = "";

    public JsonArray Base => _base ?? throw new Xunit.Sdk.XunitException(_baseError);

    /// <summary>
    /// The example overlay, which needs kustomize v4 or later (kubectl 1.21+: `resources` naming a folder,
    /// `patches`, `replicas`); the base renders with older ones too.
    /// </summary>
    public JsonArray Overlay => _overlay ?? throw new Xunit.Sdk.XunitException(_overlayError + " (the example overlay needs kustomize v4 or later: kubectl 1.21 or later)");

    public string Folder => _folder;

    public async Task InitializeAsync()
    {
        (_base, _baseError) = await RenderAsync("k8s/base", BaseFile);
        (_overlay, _overlayError) = await RenderAsync("k8s/overlays/example", OverlayFile);
    }

    private static async Task<(JsonArray? Objects, string Error)> RenderAsync(string directory, string file)
    {
        var (yaml, error) = await Tools.KustomizeAsync(directory);
        if (yaml is null)
            return (null, error);
        await File.WriteAllTextAsync(file, yaml);
        return (await Tools.ObjectsAsync(file), "");
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }
}
