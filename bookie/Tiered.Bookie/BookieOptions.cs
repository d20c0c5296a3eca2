using Tiered.Hosting;
using Tiered.Metadata;

namespace Tiered.Bookie;

/// <summary>Settings of one bookie (what `tiered bookie` takes on its command line).</summary>
public sealed record BookieOptions
{
    /// <summary>BookKeeper's default bookie port.</summary>
    public const string DefaultListen = "127.0.0.1:3181";

    /// <summary>gRPC address to bind, HOST:PORT: an IP, a host name (every address it resolves to), or 0.0.0.0 / [::] for every interface.</summary>
    public string Listen { get; init; } = DefaultListen;

    /// <summary>The HTTP/1.1 operations endpoint (/health/live, /health/ready, /metrics), HOST:PORT; null: none.</summary>
    public string? HttpListen { get; init; }
    /// <summary>
    /// The bookie's identity in ensembles, ledger metadata and its registration; it must stay the same for the same
    /// data (the cookie in the data directory checks it). Null: the advertised address, as before ids existed.
    /// </summary>
    public string? Id { get; init; }

    /// <summary>
    /// HOST:PORT where writers and readers reach this bookie (a host name or an IP), published in its registration.
    /// Null: <see cref="Listen"/>; when that binds every interface (0.0.0.0 or ::), this machine's host name with its port.
    /// </summary>
    public string? AdvertisedAddress { get; init; }

    /// <summary>Client addresses of the metadata service nodes.</summary>
    public IReadOnlyList<string> Metadata { get; init; } = ["127.0.0.1:2181"];

    /// <summary>Entry logs and the index live here.</summary>
    public string DataDir { get; init; } = "./data/bookie";

    /// <summary>The journal; on its own disk ideally. Default: DATA_DIR/journal.</summary>
    public string? JournalDir { get; init; }

    /// <summary>Above this fraction of the data disk used, the bookie turns read-only (no adds, reads still served).</summary>
    public double ReadOnlyAboveDiskUsage { get; init; } = 0.95;

    /// <summary>Below this fraction it accepts adds again (hysteresis, so it does not flap).</summary>
    public double WritableBelowDiskUsage { get; init; } = 0.90;

    /// <summary>Memory for entries journaled but not yet in the entry logs; half fills while the other half is flushed.</summary>
    public long WriteCacheBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Largest <see cref="JournalPreallocationBytes"/>: the size of a journal file (256 MiB).</summary>
    public const long MaxJournalPreallocationBytes = 256L * 1024 * 1024;

    /// <summary>
    /// Disk space reserved (fallocate) for each new journal file, so appends need not allocate
    /// blocks as they go; 0 reserves none. The journal's disk needs at least this much free space
    /// for the bookie to start: lower it on a small disk. Default 256 MiB (one journal file).
    /// </summary>
    public long JournalPreallocationBytes { get; init; } = MaxJournalPreallocationBytes;

    /// <summary>How long the bookie stays registered after its last heartbeat to the metadata service.</summary>
    public TimeSpan SessionTtl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Run the auto-recovery role: compete for the auditor lock and, while holding it,
    /// re-replicate the fragments of closed ledgers whose bookies are gone (one active per cluster).
    /// </summary>
    public bool AutoRecovery { get; init; } = true;

    /// <summary>The id in force: <see cref="Id"/>, else the advertised address.</summary>
    public string BookieId => Id ?? ResolvedAdvertisedAddress;

    /// <summary>The address in force: <see cref="AdvertisedAddress"/>, else see its summary.</summary>
    public string ResolvedAdvertisedAddress
    {
        get
        {
            if (AdvertisedAddress is not null)
                return HostPort.Parse(AdvertisedAddress, "--advertised-address").ToString();
            var listen = HostPort.Parse(Listen, "--listen");
            return listen.IsWildcard ? new HostPort(System.Net.Dns.GetHostName().ToLowerInvariant(), listen.Port).ToString() : listen.ToString();
        }
    }

    /// <summary>True when the advertised address was not given and the listen address binds every interface, so the machine's host name is advertised.</summary>
    public bool AdvertisesMachineHostName => AdvertisedAddress is null && HostPort.Parse(Listen, "--listen").IsWildcard;

    public string JournalDirectory => JournalDir ?? Path.Combine(DataDir, "journal");

    /// <summary>Throws <see cref="ArgumentException"/> with a message that says what to fix.</summary>
    public void Validate()
    {
        _ = HostPort.Parse(Listen, "--listen");
        if (HttpListen is not null && HostPort.Parse(HttpListen, "--http-listen").Equals(HostPort.Parse(Listen, "--listen")))
            throw new ArgumentException($"--http-listen {HttpListen} is also the gRPC --listen address; use two different ports.");
        if (AdvertisedAddress is not null && HostPort.Parse(AdvertisedAddress, "--advertised-address").IsWildcard)
            throw new ArgumentException($"--advertised-address {AdvertisedAddress} is no address anyone can reach; give this bookie's host name or IP as others reach it (0.0.0.0 and :: belong in --listen only).", nameof(AdvertisedAddress));
        if (Id is not null && (Id.Length is 0 or > 255 || Id.Any(c => c is '/' or ',' || char.IsWhiteSpace(c) || char.IsControl(c)) || Id is "." or ".."))
            throw new ArgumentException($"--id '{Id}' is not a bookie id: use 1 to 255 characters without '/', ',' or spaces (e.g. bookie-1, or HOST:PORT).", nameof(Id));
        if (Metadata.Count == 0)
            throw new ArgumentException("--metadata must list at least one metadata node (HOST:PORT).");
        if (string.IsNullOrWhiteSpace(DataDir))
            throw new ArgumentException("--data-dir must name a directory.");
        if (ReadOnlyAboveDiskUsage is <= 0 or > 1 || WritableBelowDiskUsage <= 0 || WritableBelowDiskUsage > ReadOnlyAboveDiskUsage)
            throw new ArgumentException("Disk thresholds must satisfy 0 < writable-below <= read-only-above <= 1.");
        if (WriteCacheBytes < 8L * 1024 * 1024)
            throw new ArgumentException("The write cache needs at least 8 MiB.");
        if (JournalPreallocationBytes < 0 || JournalPreallocationBytes > MaxJournalPreallocationBytes)
            throw new ArgumentException($"--journal-preallocation-mb must be between 0 (reserve nothing) and {MaxJournalPreallocationBytes / (1024 * 1024)} (a whole journal file), got {JournalPreallocationBytes / (1024.0 * 1024):0.###}.");
        if (SessionTtl < TimeSpan.FromSeconds(1))
            throw new ArgumentException("The bookie's session TTL must be at least 1 s.");
    }
}
