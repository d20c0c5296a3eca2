using System.Globalization;
using System.Net.Http;
using Tiered.Operator.Tests.ApiServerDouble;
using Tiered.Testing;

namespace Tiered.Operator.Tests;

/// <summary><c>tiered operator</c>, the real executable, run against the API server double through a kubeconfig.</summary>
public sealed class CliOperatorTests
{
    [Fact]
    public async Task Tiered_operator_reconciles_a_cluster_reports_leadership_and_stops_cleanly_on_SIGTERM()
    {
        await using var h = await OperatorHarness.StartAsync(withOperator: false);
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"tiered-operator-kubeconfig-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
              - name: double
                cluster: {"{"}server: "{h.Api.BaseAddress.ToString().TrimEnd('/')}"{"}"}
            users:
              - name: nobody
                user: {"{"}token: not-checked-by-the-double{"}"}
            contexts:
              - name: double
                context: {"{"}cluster: double, user: nobody{"}"}
            current-context: double
            """);
        try
        {
            var port = TieredProcess.FreePort();
            using var op = await TieredProcess.StartAsync("operator cli-1 running", TimeSpan.FromSeconds(30),
                "operator", "--kubeconfig", kubeconfig, "--lease-namespace", "tiered-system", "--identity", "cli-1",
                "--http-listen", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "--progress-interval", "0.05");
            h.Create(OperatorHarness.Cluster("cli"));
            await h.WaitReadyAsync("cli");
            Assert.Equal("cli-1", h.Api.Get("leases", "tiered-system", "tiered-operator").Str("spec", "holderIdentity"));
            using var http = new HttpClient();
            Assert.Equal("ok", await http.GetStringAsync($"http://127.0.0.1:{port}/health/live"));
            Assert.Equal("leader", await http.GetStringAsync($"http://127.0.0.1:{port}/health/leader"));
            await op.StopAsync(TimeSpan.FromSeconds(20));
            Assert.True(op.HasExited);
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public async Task Tiered_operator_without_an_api_server_says_what_to_do()
    {
        var (code, output) = await TieredProcess.RunAsync(TimeSpan.FromSeconds(30), "operator", "--kubeconfig", "/nonexistent/kubeconfig");
        Assert.Equal(2, code);
        Assert.Contains("--kubeconfig", output, StringComparison.Ordinal);
    }
}

/// <summary>The commands the operator puts into pods name only flags the real roles have (checked against their --help).</summary>
public sealed class GeneratedCommandTests
{
    [Fact]
    public async Task Every_flag_of_a_generated_container_command_is_a_flag_of_that_tiered_command()
    {
        var c = GeneratedObjectsTests.FullCluster();
        var commands = new List<IList<string>>
        {
            ClusterResources.StatefulSet(c, Component.Bookie, 3).Spec.Template.Spec.Containers[0].Command,
            ClusterResources.Deployment(c).Spec.Template.Spec.Containers[0].Command,
            ClusterResources.Deployment(c).Spec.Template.Spec.InitContainers[0].Command,
            // The metadata node's runs through sh -c: its words after "tiered".
            ClusterResources.StatefulSet(c, Component.Metadata, 3).Spec.Template.Spec.Containers[0].Command[2].Replace("exec ", "", StringComparison.Ordinal).Split(' '),
        };
        foreach (var command in commands)
        {
            Assert.Equal("tiered", command[0]);
            var (code, help) = await TieredProcess.RunAsync(TimeSpan.FromSeconds(60), command[1], "--help");
            Assert.Equal(0, code);
            foreach (var flag in command.Where(w => w.StartsWith("--", StringComparison.Ordinal)))
                Assert.True(help.Contains(flag + " ", StringComparison.Ordinal) || help.Contains(flag + ",", StringComparison.Ordinal),
                    $"tiered {command[1]} has no flag {flag}:\n{help}");
        }
    }
}
