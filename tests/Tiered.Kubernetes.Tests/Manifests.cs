using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Tiered.Kubernetes.Tests;

/// <summary>Reading rendered Kubernetes objects (as JSON) the way the tests need it.</summary>
internal static partial class Manifests
{
    public static JsonObject Find(JsonArray objects, string kind, string name)
        => objects.OfType<JsonObject>().SingleOrDefault(o => Kind(o) == kind && Name(o) == name)
            ?? throw new Xunit.Sdk.XunitException($"No {kind} {name} among the rendered objects: {string.Join(", ", objects.OfType<JsonObject>().Select(o => $"{Kind(o)} {Name(o)}"))}");

    public static IEnumerable<JsonObject> OfKind(JsonArray objects, string kind) => objects.OfType<JsonObject>().Where(o => Kind(o) == kind);

    public static string Kind(JsonObject o) => (string)o["kind"]!;

    public static string Name(JsonObject o) => (string)o["metadata"]!["name"]!;

    public static JsonObject PodSpec(JsonObject workload) => workload["spec"]!["template"]!["spec"]!.AsObject();

    public static JsonObject PodLabels(JsonObject workload) => workload["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();

    public static JsonObject Container(JsonObject workload) => PodSpec(workload)["containers"]!.AsArray().Single()!.AsObject();

    /// <summary>The container port of that name.</summary>
    public static int Port(JsonObject container, string name)
        => (int)container["ports"]!.AsArray().Single(p => (string)p!["name"]! == name)!["containerPort"]!;

    /// <summary>Where the volume (or claim template) of that name is mounted in the container.</summary>
    public static string MountPath(JsonObject container, string volume)
        => (string)container["volumeMounts"]!.AsArray().Single(m => (string)m!["name"]! == volume)!["mountPath"]!;

    /// <summary>
    /// The container's environment as Kubernetes sets it: the ConfigMaps of envFrom, then env (which
    /// wins), with $(VAR) references expanded; variables from the downward API take <paramref name="downward"/>'s values.
    /// </summary>
    public static Dictionary<string, string> Environment(JsonArray objects, JsonObject container, IReadOnlyDictionary<string, string> downward)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in container["envFrom"]?.AsArray() ?? [])
        {
            var configMap = Find(objects, "ConfigMap", (string)source!["configMapRef"]!["name"]!);
            foreach (var (key, value) in configMap["data"]!.AsObject())
                environment[key] = (string)value!;
        }
        foreach (var variable in container["env"]?.AsArray() ?? [])
        {
            var name = (string)variable!["name"]!;
            if (variable["value"] is { } value)
                environment[name] = VariableReference().Replace((string)value!, m => environment.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);
            else if (variable["valueFrom"]?["fieldRef"] is not null)
                environment[name] = downward.TryGetValue(name, out var v) ? v : throw new Xunit.Sdk.XunitException($"No test value for the downward-API variable {name}.");
        }
        return environment;
    }

    [GeneratedRegex(@"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex VariableReference();
}
