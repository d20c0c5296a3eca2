using System.Text.Json;

namespace Tiered.Cluster.Balancing;

/// <summary>
/// What a broker publishes about its load at <c>/loadbalance/brokers/{id}</c> (ephemeral, rewritten
/// every report interval): message and byte rates in and out over the last interval, loaded topics,
/// and the same per owned bundle, so that the balancer can choose which bundle to move.
/// </summary>
public sealed record LoadReport
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string BrokerId { get; init; } = "";

    public double MsgRateIn { get; init; }

    public double MsgRateOut { get; init; }

    public double BytesRateIn { get; init; }

    public double BytesRateOut { get; init; }

    public int Topics { get; init; }

    /// <summary>Per bundle (tenant/namespace/0x…_0x…): its rates and topics.</summary>
    public Dictionary<string, BundleLoad> Bundles { get; init; } = [];

    public DateTimeOffset At { get; init; }

    /// <summary>Messages per second in and out: the load the balancer compares.</summary>
    public double MsgRate => MsgRateIn + MsgRateOut;

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static LoadReport? FromJson(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<LoadReport>(json, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>One bundle's share of a broker's load.</summary>
public sealed record BundleLoad(double MsgRate, double BytesRate, int Topics);
