using Tiered.Hosting;
using Tiered.ManagedLedgers;
using Tiered.Metadata;
using Tiered.Offloader;
using Tiered.Offloader.Stores;

namespace Tiered.Broker;

/// <summary>A broker's settings; <see cref="Validate"/> explains every bad value.</summary>
public sealed record BrokerOptions
{
    /// <summary>The producer/consumer gRPC endpoint (HTTP/2), host:port.</summary>
    public string GrpcListen { get; init; } = "127.0.0.1:6650";

    /// <summary>The admin REST endpoint (HTTP/1.1), host:port.</summary>
    public string HttpListen { get; init; } = "127.0.0.1:8080";

    /// <summary>The URL clients are sent to by Lookup; defaults to http://<see cref="GrpcListen"/>.</summary>
    public string? AdvertisedUrl { get; init; }

    public string ClusterName { get; init; } = "standalone";

    /// <summary>How topics' ledgers are written (ensemble, quorums), rolled over and cached.</summary>
    public ManagedLedgerOptions ManagedLedger { get; init; } = new();

    /// <summary>The largest batch a producer may send (its encoding), as Pulsar's maxMessageSize.</summary>
    public int MaxMessageBytes { get; init; } = 5 * 1024 * 1024;

    /// <summary>Batches of one producer waiting for storage before the broker stops reading its stream (back-pressure).</summary>
    public int MaxPendingBatchesPerProducer { get; init; } = 10_000;

    /// <summary>Whether topics are created on first use when the namespace does not say otherwise.</summary>
    public bool AllowAutoTopicCreation { get; init; } = true;

    /// <summary>Bundles a namespace is cut into when it is created without numBundles (--default-bundles).</summary>
    public int DefaultBundles { get; init; } = Ownership.NamespaceBundles.DefaultCount;

    /// <summary>
    /// Producer de-duplication where neither the topic nor its namespace says otherwise (on: a batch a producer
    /// resends after a lost receipt is stored once; Pulsar's brokerDeduplicationEnabled, which is off there).
    /// </summary>
    public bool DeduplicationEnabled { get; init; } = true;

    /// <summary>Retention of consumed messages when the namespace does not say otherwise.</summary>
    public RetentionPolicy DefaultRetention { get; init; } = RetentionPolicy.None;

    /// <summary>How often retention, message TTL and rates are applied.</summary>
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often loaded topics' backlogs are checked against their namespace's backlog quotas (Pulsar's
    /// backlogQuotaCheckIntervalInSeconds): a held producer resumes, and eviction runs, at a check. Cheap: positions and
    /// ledger sizes, plus one entry read when a message_age quota's oldest message changed.
    /// </summary>
    public TimeSpan BacklogQuotaCheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether metrics are exported per topic (label <c>topic</c>) rather than summed per namespace.
    /// Off by default: every topic adds a series per metric (Pulsar's exposeTopicLevelMetricsInPrometheus).
    /// </summary>
    public bool ExposeTopicLevelMetrics { get; init; }

    /// <summary>How closed ledgers are written to object stores and read back; null: this broker does not offload.</summary>
    public TieredStorageOptions? TieredStorage { get; init; }

    /// <summary>The store topics offload to when their namespace names none (offloadPolicies); null: only namespaces that name one offload.</summary>
    public ObjectStoreSettings? DefaultOffloadStore { get; init; }

    /// <summary>The offload threshold when the namespace sets none: -1 off, else bytes kept on the bookies.</summary>
    public long DefaultOffloadThreshold { get; init; } = -1;

    /// <summary>How long the bookies keep offloaded ledgers when the namespace sets no lag (Pulsar's default: 4 hours).</summary>
    public TimeSpan DefaultOffloadDeletionLag { get; init; } = TimeSpan.FromHours(4);

    /// <summary>Client addresses of the metadata service nodes (when the process runs no metadata node itself).</summary>
    public IReadOnlyList<string> Metadata { get; init; } = ["127.0.0.1:2181"];

    /// <summary>How long the broker stays registered at /brokers/{id} after its last heartbeat to the metadata service.</summary>
    public TimeSpan SessionTtl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether the broker's listeners serve TLS (set by the host from its certificate settings, not configured here):
    /// the URLs it advertises, and so the lookup answers' broker_tls, are then https://.
    /// </summary>
    public bool Tls { get; init; }

    public string ResolvedAdvertisedUrl => AdvertisedUrl ?? $"{Scheme}://{Advertised(GrpcListen)}";

    /// <summary>The admin API's URL as others reach it: the advertised host with the HTTP port.</summary>
    public string AdvertisedHttpUrl => $"{Scheme}://{BrokerId}";

    private string Scheme => Tls ? "https" : "http";

    /// <summary>This broker's id, as Pulsar's: host:port of its HTTP endpoint, with the host it advertises.</summary>
    public string BrokerId => $"{new Uri(ResolvedAdvertisedUrl).Host}:{HostPort.Parse(HttpListen, "--http-listen").Port}";

    /// <summary>HOST:PORT as others reach it: a wildcard host (0.0.0.0, ::) becomes this machine's name.</summary>
    private static string Advertised(string listen)
    {
        var address = HostPort.Parse(listen, "--grpc-listen");
        return address.IsWildcard ? new HostPort(System.Net.Dns.GetHostName(), address.Port).ToString() : address.ToString();
    }

    /// <summary>How Shared and Key_Shared subscriptions index the messages they hold until their deliver_at_ms.</summary>
    public Subscriptions.Delayed.DelayedDeliveryOptions DelayedDelivery { get; init; } = new();

    public void Validate()
    {
        _ = HostPort.Parse(GrpcListen, "--grpc-listen");
        _ = HostPort.Parse(HttpListen, "--http-listen");
        if (AdvertisedUrl is not null && !Uri.TryCreate(AdvertisedUrl, UriKind.Absolute, out _))
            throw new ArgumentException($"AdvertisedUrl '{AdvertisedUrl}' is not an absolute URL such as http://127.0.0.1:6650.");
        if (Metadata.Count == 0)
            throw new ArgumentException("--metadata must list at least one metadata node (HOST:PORT).");
        if (SessionTtl < TimeSpan.FromSeconds(1))
            throw new ArgumentException("The broker's session TTL must be at least 1 s.");
        if (MaxMessageBytes is < 1024 or > 64 * 1024 * 1024)
            throw new ArgumentException($"MaxMessageBytes must be between 1 KiB and 64 MiB (was {MaxMessageBytes}).");
        if (DefaultBundles is < 1 or > 1024)
            throw new ArgumentException($"--default-bundles must be between 1 and 1024 (was {DefaultBundles}).");
        if (MaxPendingBatchesPerProducer < 1)
            throw new ArgumentException($"MaxPendingBatchesPerProducer must be at least 1 (was {MaxPendingBatchesPerProducer}).");
        if (MaintenanceInterval <= TimeSpan.Zero)
            throw new ArgumentException($"MaintenanceInterval must be positive (was {MaintenanceInterval}).");
        if (BacklogQuotaCheckInterval <= TimeSpan.Zero)
            throw new ArgumentException($"BacklogQuotaCheckInterval must be positive (was {BacklogQuotaCheckInterval}).");
        if (DefaultOffloadThreshold < -1)
            throw new ArgumentException($"The offload threshold must be -1 (off), 0 or a number of bytes (was {DefaultOffloadThreshold}).");
        if (DefaultOffloadDeletionLag < TimeSpan.Zero)
            throw new ArgumentException($"The offload deletion lag must not be negative (was {DefaultOffloadDeletionLag}).");
        if (DefaultOffloadStore is not null && TieredStorage is null)
            throw new ArgumentException("A default offload store is set but tiered storage is not: set TieredStorage too.");
        DefaultOffloadStore?.Validate();
        TieredStorage?.Validate();
        ManagedLedger.Validate();
        DelayedDelivery.Validate();
    }
}
