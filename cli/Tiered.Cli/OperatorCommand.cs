using System.CommandLine;
using System.Net;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Tiered.Operator;

namespace Tiered.Cli;

/// <summary>
/// <c>tiered operator</c>: the Kubernetes operator that runs <c>TieredCluster</c> objects (docs/operator.md). Runs
/// with leader election, so its Deployment may have two replicas; only the leader reconciles.
/// </summary>
internal static class OperatorCommand
{
    public static Command Create()
    {
        var watchNamespace = new Option<string?>("--namespace")
        {
            HelpName = "NS",
            Description = "Reconcile the TieredClusters of this namespace only (default: every namespace, as the ClusterRole of k8s/operator allows).",
        };
        var leaseNamespace = new Option<string>("--lease-namespace")
        {
            HelpName = "NS",
            Description = "Namespace of the leader-election Lease (default: $POD_NAMESPACE, the operator's own namespace, else 'default').",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? "default",
        };
        var identity = new Option<string>("--identity")
        {
            HelpName = "NAME",
            Description = "This replica's name in the Lease (default: $POD_NAME, else the host name).",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("POD_NAME") ?? Environment.MachineName,
        };
        var kubeconfig = new Option<string?>("--kubeconfig")
        {
            HelpName = "FILE",
            Description = "Kubeconfig to reach the API server with (default: the pod's service account in a cluster, else ~/.kube/config).",
        };
        var adminTokenFile = new Option<string?>("--admin-token-file")
        {
            HelpName = "FILE",
            Description = "File with a superuser's token for the clusters' admin API (needed to decommission bookies of clusters that check tokens).",
        };
        var httpListen = new Option<string>("--http-listen")
        {
            HelpName = "HOST:PORT",
            Description = "HOST:PORT of the HTTP endpoint for /health/live and /health/ready (ready on every replica; /health/leader answers 200 on the leader only).",
            DefaultValueFactory = _ => "0.0.0.0:8081",
        };
        var progressInterval = new Option<double>("--progress-interval")
        {
            HelpName = "SECONDS",
            Description = "How often a cluster in the middle of an operation (a pod starting, a bookie draining) is looked at again.",
            DefaultValueFactory = _ => 5,
        };
        var command = new Command(
            "operator",
            "Run the Kubernetes operator of TieredCluster objects (group tiered.dev, CRD in k8s/crd): it creates and updates the metadata "
            + "StatefulSet, the bookie StatefulSet, the broker Deployment, their Services, ConfigMap and PodDisruptionBudgets; upgrades "
            + "metadata, then bookies, then brokers one pod at a time; drains a bookie through the admin API before scaling it away. "
            + "Also applies TieredTenant, TieredNamespace and TieredTopic objects through the referenced cluster's admin API. "
            + "Runs until SIGINT or SIGTERM; replicas elect a leader over a Lease.")
        {
            watchNamespace, leaseNamespace, identity, kubeconfig, adminTokenFile, httpListen, progressInterval,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var loggers = ConsoleLogging.CreateFactory(parseResult);
            KubernetesClientConfiguration config;
            try
            {
                config = parseResult.GetValue(kubeconfig) is { } file
                    ? KubernetesClientConfiguration.BuildConfigFromConfigFile(file)
                    : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig() : KubernetesClientConfiguration.BuildConfigFromConfigFile();
            }
            catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or IOException)
            {
                return Exit.Error(Exit.BadOptions, $"no Kubernetes API server to talk to: {e.Message} (run in a pod with a service account, or give --kubeconfig)");
            }
            string? token = null;
            if (parseResult.GetValue(adminTokenFile) is { } tokenFile)
            {
                try
                {
                    token = (await File.ReadAllTextAsync(tokenFile, cancellationToken)).Trim();
                }
                catch (IOException e)
                {
                    return Exit.Error(Exit.BadOptions, $"cannot read --admin-token-file: {e.Message}");
                }
            }
            if (!IPEndPoint.TryParse(parseResult.GetValue(httpListen)!, out var healthEndpoint))
                return Exit.Error(Exit.BadOptions, "--http-listen must be IP:PORT, e.g. 0.0.0.0:8081");
            var options = new OperatorOptions
            {
                WatchNamespace = parseResult.GetValue(watchNamespace),
                LeaseNamespace = parseResult.GetValue(leaseNamespace)!,
                Identity = parseResult.GetValue(identity)!,
                AdminToken = token,
                ProgressInterval = TimeSpan.FromSeconds(parseResult.GetValue(progressInterval)),
            };
            using var client = new Kubernetes(config);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var op = new ClusterOperator(client, new HttpClusterAdmin(http, options.AdminUrl, token), options, loggers);

            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(healthEndpoint));
            await using var health = builder.Build();
            health.MapGet("/health/live", () => Results.Text("ok"));
            health.MapGet("/health/ready", () => Results.Text("ok"));
            health.MapGet("/health/leader", () => op.IsLeader ? Results.Text("leader") : Results.Text("follower", statusCode: 503));
            await health.StartAsync(cancellationToken);
            Console.WriteLine($"operator {options.Identity} running (lease {options.LeaseNamespace}/{options.LeaseName}, "
                + $"watching {options.WatchNamespace ?? "every namespace"}, health on http://{healthEndpoint})");
            try
            {
                await op.RunAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // SIGINT/SIGTERM.
            }
            await health.StopAsync(CancellationToken.None);
            return Exit.Ok;
        });
        return command;
    }
}
