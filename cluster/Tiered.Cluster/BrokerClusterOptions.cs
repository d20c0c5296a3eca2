using Tiered.Hosting;

namespace Tiered.Cluster;

/// <summary>
/// How a broker joins its cluster of brokers (an Orleans cluster whose membership table is the
/// metadata service); <see cref="Validate"/> explains every bad value.
/// </summary>
public sealed record BrokerClusterOptions
{
    /// <summary>The port brokers talk to each other on (Orleans' silo port), on the broker's advertised address.</summary>
    public int SiloPort { get; init; } = 11111;

    /// <summary>
    /// How long a broker waits for another's answer to a liveness probe before counting it missed.
    /// With <see cref="MissedProbes"/> it sets how fast a crashed broker is declared dead and its
    /// bundles move (about ProbeTimeout × MissedProbes); too short, and a broker that pauses (GC, a
    /// busy machine) is declared dead and must restart.
    /// </summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Missed probes in a row before a broker suspects another.</summary>
    public int MissedProbes { get; init; } = 3;

    /// <summary>How often brokers publish their load and the balancing broker considers one move; zero turns balancing off.</summary>
    public TimeSpan BalanceInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a moved bundle stays where it was put before it may move again (no back and forth).</summary>
    public TimeSpan MinBundleMoveInterval { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Bundle moves per minute at most, cluster-wide (no unload storms).</summary>
    public int MaxMovesPerMinute { get; init; } = 6;

    public void Validate()
    {
        if (SiloPort is < 1 or > 65535)
            throw new ArgumentException($"--silo-port must be a port number 1-65535 (was {SiloPort}).");
        if (ProbeTimeout < TimeSpan.FromMilliseconds(100) || ProbeTimeout > TimeSpan.FromMinutes(1))
            throw new ArgumentException($"The probe timeout must be between 100 ms and 1 min (was {ProbeTimeout}).");
        if (MissedProbes is < 1 or > 10)
            throw new ArgumentException($"MissedProbes must be between 1 and 10 (was {MissedProbes}).");
        if (BalanceInterval < TimeSpan.Zero || (BalanceInterval > TimeSpan.Zero && BalanceInterval < TimeSpan.FromSeconds(1)))
            throw new ArgumentException($"--balance-interval must be 0 (off) or at least 1 s (was {BalanceInterval.TotalSeconds} s).");
        if (MinBundleMoveInterval < TimeSpan.Zero)
            throw new ArgumentException($"MinBundleMoveInterval must not be negative (was {MinBundleMoveInterval}).");
        if (MaxMovesPerMinute < 1)
            throw new ArgumentException($"MaxMovesPerMinute must be at least 1 (was {MaxMovesPerMinute}).");
    }
}
