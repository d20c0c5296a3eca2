using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;

namespace Tiered.Operator;

/// <summary>The three components of a cluster, in the order the operator creates and upgrades them.</summary>
public enum Component
{
    Metadata,
    Bookie,
    Broker,
}

/// <summary>
/// Builds the Kubernetes objects a <see cref="TieredCluster"/> stands for: pure functions of the spec (and of
/// the bookie replicas the operator has decided, which lag the spec while a bookie is drained), so that the
/// reconciler can compare what should be with what is by a hash instead of field by field — the API server
/// fills in defaults, so a field-by-field comparison would see differences that are none.
/// </summary>
public static class ClusterResources
{
    public const string AppliedHashAnnotation = "tiered.dev/applied-hash";
    public const string TemplateHashAnnotation = "tiered.dev/template-hash";
    public const string ManagedBy = "tiered-operator";
    public const int MetadataClientPort = 2181, MetadataRaftPort = 2281, MetadataHttpPort = 8001;
    public const int BookiePort = 3181, BookieHttpPort = 8000;
    public const int BrokerPort = 6650, BrokerHttpPort = 8080;

    public static string Name(TieredCluster c, Component component) => $"{c.Metadata.Name}-{ComponentName(component)}";

    public static string ConfigMapName(TieredCluster c) => $"{c.Metadata.Name}-config";

    public static string ComponentName(Component component) => component switch
    {
        Component.Metadata => "metadata",
        Component.Bookie => "bookie",
        _ => "broker",
    };

    /// <summary>The bookie id of ordinal <paramref name="ordinal"/>: its pod name, given to the bookie as <c>--id</c> so it survives rescheduling.</summary>
    public static string BookieId(TieredCluster c, int ordinal) => $"{Name(c, Component.Bookie)}-{ordinal}";

    /// <summary>The claims a bookie pod owns; deleted with it when it is scaled away after being drained.</summary>
    public static IEnumerable<string> BookieClaims(TieredCluster c, int ordinal) =>
        [$"journal-{BookieId(c, ordinal)}", $"ledgers-{BookieId(c, ordinal)}"];

    public static Dictionary<string, string> Labels(TieredCluster c, Component? component)
    {
        var labels = new Dictionary<string, string>
        {
            ["app.kubernetes.io/name"] = "tiered",
            ["app.kubernetes.io/instance"] = c.Metadata.Name,
            ["app.kubernetes.io/managed-by"] = ManagedBy,
        };
        if (component is { } k)
            labels["app.kubernetes.io/component"] = ComponentName(k);
        return labels;
    }

    public static string Selector(TieredCluster c, Component component) =>
        string.Join(',', SelectorLabels(c, component).Select(kv => $"{kv.Key}={kv.Value}"));

    private static Dictionary<string, string> SelectorLabels(TieredCluster c, Component component) => new()
    {
        ["app.kubernetes.io/instance"] = c.Metadata.Name,
        ["app.kubernetes.io/component"] = ComponentName(component),
    };

    public static string ImageOf(TieredCluster c, Component component) => component switch
    {
        Component.Metadata => c.Spec.Metadata.Image ?? c.Spec.Image,
        Component.Bookie => c.Spec.Bookies.Image ?? c.Spec.Image,
        _ => c.Spec.Brokers.Image ?? c.Spec.Image,
    };

    private static string Namespace(TieredCluster c) => c.Metadata.NamespaceProperty ?? "default";

    private static string MetadataPeers(TieredCluster c, int port) => string.Join(',', Enumerable.Range(0, c.Spec.Metadata.Replicas)
        .Select(i => $"{Name(c, Component.Metadata)}-{i}.{Name(c, Component.Metadata)}.{Namespace(c)}.svc:{port}"));

    private static V1OwnerReference Owner(TieredCluster c) => new()
    {
        ApiVersion = c.ApiVersion, Kind = TieredCluster.KindName, Name = c.Metadata.Name, Uid = c.Metadata.Uid, Controller = true, BlockOwnerDeletion = true,
    };

    private static V1ObjectMeta Meta(TieredCluster c, string name, Component? component) => new()
    {
        Name = name,
        NamespaceProperty = Namespace(c),
        Labels = Labels(c, component),
        OwnerReferences = [Owner(c)],
    };

    /// <summary>The settings every role reads, as environment variables (the roles' flags are given <c>$(VAR)</c>).</summary>
    public static V1ConfigMap ConfigMap(TieredCluster c)
    {
        var s = c.Spec;
        var data = new Dictionary<string, string>
        {
            ["TC_CLUSTER_NAME"] = s.GeoReplication?.ClusterName ?? c.Metadata.Name,
            ["TC_METADATA"] = MetadataPeers(c, MetadataClientPort),
            ["TC_METADATA_PEERS"] = MetadataPeers(c, MetadataRaftPort),
            ["TC_ENSEMBLE_SIZE"] = s.Ledger.EnsembleSize.ToString(CultureInfo.InvariantCulture),
            ["TC_WRITE_QUORUM"] = s.Ledger.WriteQuorum.ToString(CultureInfo.InvariantCulture),
            ["TC_ACK_QUORUM"] = s.Ledger.AckQuorum.ToString(CultureInfo.InvariantCulture),
        };
        if (s.GeoReplication is { Peers.Count: > 0 } geo)
        {
            // Read by whoever registers the peer clusters (tiered admin clusters create): name=serviceUrl|adminUrl pairs.
            data["TC_GEO_PEERS"] = string.Join(',', geo.Peers.Select(p => $"{p.Name}={p.ServiceUrl}|{p.AdminUrl}"));
        }
        return Hashed(new V1ConfigMap { ApiVersion = "v1", Kind = "ConfigMap", Metadata = Meta(c, ConfigMapName(c), null), Data = data });
    }

    public static V1Service Service(TieredCluster c, Component component)
    {
        var ports = component switch
        {
            Component.Metadata => new List<V1ServicePort>
            {
                new() { Port = MetadataClientPort, Name = "grpc" }, new() { Port = MetadataRaftPort, Name = "raft" }, new() { Port = MetadataHttpPort, Name = "http" },
            },
            Component.Bookie => [new() { Port = BookiePort, Name = "bookie" }, new() { Port = BookieHttpPort, Name = "http" }],
            _ => [new() { Port = BrokerPort, Name = "grpc" }, new() { Port = BrokerHttpPort, Name = "http" }],
        };
        var spec = new V1ServiceSpec { Selector = SelectorLabels(c, component), Ports = ports };
        if (component != Component.Broker)
        {
            // Headless: every pod has a stable DNS name (NAME-i.NAME.NS.svc), which is how peers and ids stay stable.
            spec.ClusterIP = "None";
            spec.PublishNotReadyAddresses = true;
        }
        return Hashed(new V1Service { ApiVersion = "v1", Kind = "Service", Metadata = Meta(c, Name(c, component), component), Spec = spec });
    }

    public static V1PodDisruptionBudget DisruptionBudget(TieredCluster c, Component component) => Hashed(new V1PodDisruptionBudget
    {
        ApiVersion = "policy/v1",
        Kind = "PodDisruptionBudget",
        Metadata = Meta(c, Name(c, component), component),
        Spec = new V1PodDisruptionBudgetSpec
        {
            MaxUnavailable = 1,
            Selector = new V1LabelSelector { MatchLabels = SelectorLabels(c, component) },
        },
    });

    /// <summary>
    /// The metadata nodes or the bookies. Pods are replaced by the operator itself (update strategy OnDelete),
    /// one at a time and only when the previous one is ready, which a StatefulSet's own rolling update cannot
    /// be told to do across components.
    /// </summary>
    public static V1StatefulSet StatefulSet(TieredCluster c, Component component, int replicas)
    {
        var name = Name(c, component);
        var spec = component == Component.Metadata ? c.Spec.Metadata : c.Spec.Bookies;
        var claims = component == Component.Metadata
            ? new List<V1PersistentVolumeClaim> { Claim(c, component, "data", spec.StorageSize ?? "5Gi", spec.StorageClass) }
            : [Claim(c, component, "journal", spec.JournalStorageSize ?? "10Gi", spec.StorageClass), Claim(c, component, "ledgers", spec.StorageSize ?? "50Gi", spec.StorageClass)];
        var container = component == Component.Metadata ? MetadataContainer(c) : BookieContainer(c);
        var template = PodTemplate(c, component, container, terminationGracePeriod: 30);
        return Hashed(new V1StatefulSet
        {
            ApiVersion = "apps/v1",
            Kind = "StatefulSet",
            Metadata = Meta(c, name, component),
            Spec = new V1StatefulSetSpec
            {
                Replicas = replicas,
                ServiceName = name,
                PodManagementPolicy = component == Component.Metadata ? "Parallel" : "OrderedReady",
                UpdateStrategy = new V1StatefulSetUpdateStrategy { Type = "OnDelete" },
                Selector = new V1LabelSelector { MatchLabels = SelectorLabels(c, component) },
                Template = template,
                VolumeClaimTemplates = claims,
            },
        });
    }

    /// <summary>The brokers: stateless, so a Deployment whose own rolling update (one extra pod, none unavailable) is one pod at a time.</summary>
    public static V1Deployment Deployment(TieredCluster c)
    {
        var grace = c.Spec.Brokers.TerminationGracePeriodSeconds ?? 60;
        return Hashed(new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = Meta(c, Name(c, Component.Broker), Component.Broker),
            Spec = new V1DeploymentSpec
            {
                Replicas = c.Spec.Brokers.Replicas,
                Selector = new V1LabelSelector { MatchLabels = SelectorLabels(c, Component.Broker) },
                Strategy = new V1DeploymentStrategy
                {
                    Type = "RollingUpdate",
                    RollingUpdate = new V1RollingUpdateDeployment { MaxSurge = 1, MaxUnavailable = 0 },
                },
                Template = PodTemplate(c, Component.Broker, BrokerContainer(c), grace),
            },
        });
    }

    private static V1PersistentVolumeClaim Claim(TieredCluster c, Component component, string name, string size, string? storageClass) => new()
    {
        ApiVersion = "v1",
        Kind = "PersistentVolumeClaim",
        Metadata = new V1ObjectMeta { Name = name, Labels = Labels(c, component) },
        Spec = new V1PersistentVolumeClaimSpec
        {
            AccessModes = ["ReadWriteOnce"],
            StorageClassName = string.IsNullOrEmpty(storageClass) ? null : storageClass,
            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new ResourceQuantity(size) } },
        },
    };

    private static V1PodTemplateSpec PodTemplate(TieredCluster c, Component component, V1Container container, long terminationGracePeriod)
    {
        List<V1Container>? initContainers = null;
        if (component == Component.Broker)
        {
            // Before a broker starts: the cluster record, the public tenant and public/default (initialize-cluster
            // leaves what exists as it is, so every broker may run it).
            var service = $"{Name(c, Component.Broker)}.{Namespace(c)}.svc";
            initContainers =
            [
                new V1Container
                {
                    Name = "initialize-cluster",
                    Image = ImageOf(c, Component.Broker),
                    ImagePullPolicy = c.Spec.ImagePullPolicy,
                    Command = ["tiered", "initialize-cluster", "--metadata", "$(TC_METADATA)", "--cluster-name", "$(TC_CLUSTER_NAME)",
                        "--web-service-url", $"http://{service}:{BrokerHttpPort}", "--broker-service-url", $"http://{service}:{BrokerPort}"],
                    EnvFrom = [new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = ConfigMapName(c) } }],
                },
            ];
        }
        var volumes = new List<V1Volume>();
        if (c.Spec.Authentication is { } auth && component == Component.Broker)
        {
            volumes.Add(new V1Volume { Name = "token-key", Secret = new V1SecretVolumeSource { SecretName = auth.SecretName, DefaultMode = 256 } });
            container.VolumeMounts ??= [];
            container.VolumeMounts.Add(new V1VolumeMount { Name = "token-key", MountPath = "/etc/tiered/auth", ReadOnlyProperty = true });
        }
        var podSpec = new V1PodSpec
        {
            Containers = [container],
            InitContainers = initContainers,
            Volumes = volumes.Count > 0 ? volumes : null,
            TerminationGracePeriodSeconds = terminationGracePeriod,
            Affinity = new V1Affinity
            {
                // Spread replicas over nodes where the scheduler can; a small cluster with fewer nodes still runs.
                PodAntiAffinity = new V1PodAntiAffinity
                {
                    PreferredDuringSchedulingIgnoredDuringExecution =
                    [
                        new V1WeightedPodAffinityTerm
                        {
                            Weight = 100,
                            PodAffinityTerm = new V1PodAffinityTerm { TopologyKey = "kubernetes.io/hostname", LabelSelector = new V1LabelSelector { MatchLabels = SelectorLabels(c, component) } },
                        },
                    ],
                },
            },
        };
        var template = new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Labels = Labels(c, component), Annotations = new Dictionary<string, string>() },
            Spec = podSpec,
        };
        // The template hash covers the settings too (the ConfigMap's data), so that a changed setting restarts
        // the pods in the same careful order as a changed image.
        var settings = KubernetesJson.Serialize(ConfigMap(c).Data);
        template.Metadata.Annotations[TemplateHashAnnotation] = Hash(KubernetesJson.Serialize(template) + settings);
        return template;
    }

    private static V1Container Container(TieredCluster c, Component component, ComponentSpec spec, List<string> command, List<V1ContainerPort> ports, int httpPort) => new()
    {
        Name = ComponentName(component),
        Image = ImageOf(c, component),
        ImagePullPolicy = c.Spec.ImagePullPolicy,
        Command = command,
        Ports = ports,
        Resources = spec.Resources,
        EnvFrom = [new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = ConfigMapName(c) } }],
        Env =
        [
            new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
            new V1EnvVar { Name = "POD_IP", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } } },
        ],
        LivenessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/health/live", Port = httpPort }, PeriodSeconds = 10, FailureThreshold = 6 },
        ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/health/ready", Port = httpPort }, PeriodSeconds = 5 },
    };

    private static V1Container MetadataContainer(TieredCluster c) => Container(c, Component.Metadata, c.Spec.Metadata,
        // The node id is the pod's ordinal + 1 (Raft ids are 1-based positions in --peers); $$ is a literal $ for the kubelet.
        ["sh", "-c", $"exec tiered metadata --node-id $$((${{POD_NAME##*-}} + 1)) --listen $(POD_NAME).{Name(c, Component.Metadata)}.{Namespace(c)}.svc:{MetadataClientPort} "
            + $"--peers $(TC_METADATA_PEERS) --http-listen 0.0.0.0:{MetadataHttpPort} --data-dir /data"],
        [new V1ContainerPort { ContainerPort = MetadataClientPort, Name = "grpc" }, new V1ContainerPort { ContainerPort = MetadataRaftPort, Name = "raft" }, new V1ContainerPort { ContainerPort = MetadataHttpPort, Name = "http" }],
        MetadataHttpPort).WithMounts(new V1VolumeMount { Name = "data", MountPath = "/data" });

    private static V1Container BookieContainer(TieredCluster c) => Container(c, Component.Bookie, c.Spec.Bookies,
        ["tiered", "bookie", "--metadata", "$(TC_METADATA)", "--listen", $"0.0.0.0:{BookiePort}",
            "--advertised-address", $"$(POD_NAME).{Name(c, Component.Bookie)}.{Namespace(c)}.svc:{BookiePort}", "--id", "$(POD_NAME)",
            "--data-dir", "/ledgers", "--journal-dir", "/journal", "--http-listen", $"0.0.0.0:{BookieHttpPort}"],
        [new V1ContainerPort { ContainerPort = BookiePort, Name = "bookie" }, new V1ContainerPort { ContainerPort = BookieHttpPort, Name = "http" }],
        BookieHttpPort).WithMounts(new V1VolumeMount { Name = "journal", MountPath = "/journal" }, new V1VolumeMount { Name = "ledgers", MountPath = "/ledgers" });

    private static V1Container BrokerContainer(TieredCluster c)
    {
        var command = new List<string>
        {
            "tiered", "broker", "--metadata", "$(TC_METADATA)", "--cluster-name", "$(TC_CLUSTER_NAME)",
            "--grpc-listen", $"0.0.0.0:{BrokerPort}", "--http-listen", $"0.0.0.0:{BrokerHttpPort}", "--advertised-url", $"http://$(POD_IP):{BrokerPort}",
            "--ensemble-size", "$(TC_ENSEMBLE_SIZE)", "--write-quorum", "$(TC_WRITE_QUORUM)", "--ack-quorum", "$(TC_ACK_QUORUM)",
        };
        var container = Container(c, Component.Broker, c.Spec.Brokers, command,
            [new V1ContainerPort { ContainerPort = BrokerPort, Name = "grpc" }, new V1ContainerPort { ContainerPort = BrokerHttpPort, Name = "http" }, new V1ContainerPort { ContainerPort = 11111, Name = "silo" }], BrokerHttpPort);
        if (c.Spec.Offload is { } offload)
        {
            command.AddRange(["--offload-driver", "s3", "--offload-bucket", offload.Bucket]);
            if (!string.IsNullOrEmpty(offload.Endpoint))
                command.AddRange(["--offload-endpoint", offload.Endpoint]);
            if (!string.IsNullOrEmpty(offload.Region))
                command.AddRange(["--offload-region", offload.Region]);
            container.EnvFrom.Add(new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = offload.SecretName } });
        }
        if (c.Spec.Authentication is { } auth)
        {
            command.AddRange(["--token-secret-key", $"/etc/tiered/auth/{auth.SecretKey}"]);
            if (auth.SuperuserRoles is { Count: > 0 } roles)
                command.AddRange(["--superuser-roles", string.Join(',', roles)]);
        }
        return container;
    }

    private static V1Container WithMounts(this V1Container container, params V1VolumeMount[] mounts)
    {
        container.VolumeMounts = [.. mounts];
        return container;
    }

    /// <summary>Stamps the object with the hash of what the operator wants it to be; equal hashes mean nothing to write.</summary>
    private static T Hashed<T>(T obj) where T : IKubernetesObject<V1ObjectMeta>
    {
        obj.Metadata.Annotations = new Dictionary<string, string> { [AppliedHashAnnotation] = Hash(KubernetesJson.Serialize(obj)) };
        return obj;
    }

    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
}
