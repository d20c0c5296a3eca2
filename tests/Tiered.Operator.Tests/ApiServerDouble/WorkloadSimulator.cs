using System.Text.Json.Nodes;

namespace Tiered.Operator.Tests.ApiServerDouble;

/// <summary>
/// Plays, inside <see cref="KubeApiDouble"/>, the parts of Kubernetes that are not the API server but that the
/// operator depends on: the StatefulSet controller (pods NAME-0…NAME-(n-1) from the template, the highest ordinals
/// removed first on scale-down, a deleted pod recreated from the current template as with the OnDelete update
/// strategy, one PersistentVolumeClaim per volumeClaimTemplate and ordinal that outlives its pod), the
/// Deployment controller (its status) and the kubelet (pod readiness). Readiness is the test's to decide: with
/// <see cref="AutoReady"/> every new pod is ready at once; without it a pod stays unready until
/// <see cref="SetPodReady"/>. Its writes go through the double like anyone's, so watchers and the audit see them.
/// </summary>
public sealed class WorkloadSimulator(KubeApiDouble server, bool enabled)
{
    public const string User = "workload-simulator";
    private bool _running;

    /// <summary>Whether new pods are ready at once (default) or wait for <see cref="SetPodReady"/>.</summary>
    public bool AutoReady { get; set; } = true;

    /// <summary>Whether Deployments report all their replicas available (default) or none updated yet.</summary>
    public bool DeploymentsAvailable { get; set; } = true;

    public void SetPodReady(string ns, string name, bool ready = true)
    {
        lock (server.SyncRoot)
        {
            server.Mutate("pods", ns, name, pod => SetReady(pod, ready));
        }
    }

    /// <summary>Re-runs the controllers (after the test changed <see cref="DeploymentsAvailable"/>, say).</summary>
    public void Resync()
    {
        lock (server.SyncRoot) AfterWriteLocked("deployments");
    }

    internal void AfterWriteLocked(string plural)
    {
        if (!enabled || _running || plural is not ("statefulsets" or "pods" or "deployments"))
            return;
        _running = true;
        try
        {
            foreach (var (key, sts) in server.AllLocked("statefulsets"))
                ReconcileStatefulSet(key, sts);
            foreach (var (key, deployment) in server.AllLocked("deployments"))
                ReconcileDeployment(key, deployment);
        }
        finally
        {
            _running = false;
        }
    }

    private void ReconcileStatefulSet(ObjectKey key, JsonObject sts)
    {
        var replicas = sts["spec"]?["replicas"]?.AsLong() is { } r ? (int)r : 1;
        var template = sts["spec"]!["template"]!.AsObject();
        var templateHash = template.Str("metadata", "annotations", "tiered.dev/template-hash");
        var uid = sts["metadata"]!["uid"]!.GetValue<string>();
        for (var i = 0; i < replicas; i++)
        {
            var podName = $"{key.Name}-{i}";
            foreach (var claim in sts["spec"]?["volumeClaimTemplates"]?.AsArray() ?? [])
            {
                var claimName = $"{claim!.Str("metadata", "name")}-{podName}";
                if (!server.TryGetLocked(new ObjectKey("persistentvolumeclaims", key.Namespace, claimName), out _))
                {
                    var pvc = new JsonObject
                    {
                        ["apiVersion"] = "v1",
                        ["kind"] = "PersistentVolumeClaim",
                        ["metadata"] = new JsonObject { ["name"] = claimName, ["labels"] = template["metadata"]?["labels"]?.DeepClone() },
                        ["spec"] = claim!["spec"]?.DeepClone(),
                    };
                    server.CreateInternalLocked("persistentvolumeclaims", key.Namespace, pvc, User);
                }
            }
            if (!server.TryGetLocked(new ObjectKey("pods", key.Namespace, podName), out _))
            {
                var pod = new JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Pod",
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = podName,
                        ["labels"] = template["metadata"]?["labels"]?.DeepClone(),
                        ["annotations"] = template["metadata"]?["annotations"]?.DeepClone(),
                        ["ownerReferences"] = new JsonArray(new JsonObject
                        {
                            ["apiVersion"] = "apps/v1", ["kind"] = "StatefulSet", ["name"] = key.Name, ["uid"] = uid, ["controller"] = true,
                        }),
                    },
                    ["spec"] = template["spec"]?.DeepClone(),
                    ["status"] = new JsonObject { ["phase"] = "Running" },
                };
                SetReady(pod, AutoReady);
                server.CreateInternalLocked("pods", key.Namespace, pod, User);
            }
        }
        foreach (var (podKey, pod) in server.AllLocked("pods"))
        {
            if (podKey.Namespace == key.Namespace && OrdinalOf(podKey.Name, key.Name) is { } ordinal && ordinal >= replicas)
                server.DeleteInternalLocked(podKey, User);
        }
        var pods = server.AllLocked("pods").Where(kv => kv.Key.Namespace == key.Namespace && OrdinalOf(kv.Key.Name, key.Name) is not null).Select(kv => kv.Value).ToList();
        var status = new JsonObject
        {
            ["observedGeneration"] = sts["metadata"]!["generation"]!.DeepClone(),
            ["replicas"] = pods.Count,
            ["readyReplicas"] = pods.Count(IsReady),
            ["currentReplicas"] = pods.Count,
            ["updatedReplicas"] = pods.Count(p => p.Str("metadata", "annotations", "tiered.dev/template-hash") == templateHash),
        };
        if (sts["status"]?.ToJsonString() != status.ToJsonString() && server.TryGetLocked(key, out var current))
        {
            var next = (JsonObject)current.DeepClone();
            next["status"] = status;
            server.StoreLocked(key, next, "MODIFIED", User, "update-status");
        }
    }

    private void ReconcileDeployment(ObjectKey key, JsonObject deployment)
    {
        var replicas = deployment["spec"]?["replicas"]?.AsLong() is { } r ? (int)r : 1;
        var available = DeploymentsAvailable ? replicas : 0;
        var status = new JsonObject
        {
            ["observedGeneration"] = deployment["metadata"]!["generation"]!.DeepClone(),
            ["replicas"] = replicas,
            ["updatedReplicas"] = available,
            ["readyReplicas"] = available,
            ["availableReplicas"] = available,
        };
        if (deployment["status"]?.ToJsonString() != status.ToJsonString())
        {
            var next = (JsonObject)deployment.DeepClone();
            next["status"] = status;
            server.StoreLocked(key, next, "MODIFIED", User, "update-status");
        }
    }

    private static int? OrdinalOf(string podName, string setName) =>
        podName.StartsWith(setName + "-", StringComparison.Ordinal) && int.TryParse(podName.AsSpan(setName.Length + 1), out var i) ? i : null;

    internal static bool IsReady(JsonObject pod) =>
        pod["status"]?["conditions"]?.AsArray().Any(c => c.Str("type") == "Ready" && c.Str("status") == "True") == true;

    private static void SetReady(JsonObject pod, bool ready)
    {
        var status = pod["status"] as JsonObject ?? new JsonObject();
        status["phase"] = "Running";
        status["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = ready ? "True" : "False" });
        pod["status"] = status;
    }
}
