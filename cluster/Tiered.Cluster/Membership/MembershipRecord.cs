using System.Text.Json;
using System.Text.Json.Serialization;
using Orleans;
using Orleans.Runtime;

namespace Tiered.Cluster.Membership;

/// <summary>A silo's row of the membership table as stored in the metadata service (JSON; times in UTC).</summary>
internal sealed record MembershipRecord(
    [property: JsonPropertyName("silo")] string Silo,
    [property: JsonPropertyName("status")] SiloStatus Status,
    [property: JsonPropertyName("suspects")] IReadOnlyList<SuspectRecord> Suspects,
    [property: JsonPropertyName("iAmAlive")] DateTime IAmAliveTime,
    [property: JsonPropertyName("siloName")] string? SiloName,
    [property: JsonPropertyName("hostName")] string? HostName,
    [property: JsonPropertyName("proxyPort")] int ProxyPort,
    [property: JsonPropertyName("roleName")] string? RoleName,
    [property: JsonPropertyName("updateZone")] int UpdateZone,
    [property: JsonPropertyName("faultZone")] int FaultZone,
    [property: JsonPropertyName("startTime")] DateTime StartTime)
{
    public static MembershipRecord From(MembershipEntry entry) => new(
        entry.SiloAddress.ToParsableString(),
        entry.Status,
        [.. (entry.SuspectTimes ?? []).Select(s => new SuspectRecord(s.Item1.ToParsableString(), s.Item2))],
        entry.IAmAliveTime,
        entry.SiloName,
        entry.HostName,
        entry.ProxyPort,
        entry.RoleName,
        entry.UpdateZone,
        entry.FaultZone,
        entry.StartTime);

    public MembershipEntry ToEntry() => new()
    {
        SiloAddress = SiloAddress.FromParsableString(Silo),
        Status = Status,
        SuspectTimes = [.. Suspects.Select(s => Tuple.Create(SiloAddress.FromParsableString(s.Silo), s.Time))],
        IAmAliveTime = IAmAliveTime,
        SiloName = SiloName ?? "",
        HostName = HostName ?? "",
        ProxyPort = ProxyPort,
        RoleName = RoleName,
        UpdateZone = UpdateZone,
        FaultZone = FaultZone,
        StartTime = StartTime,
    };

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this);

    public static MembershipRecord FromJson(ReadOnlySpan<byte> json)
        => JsonSerializer.Deserialize<MembershipRecord>(json) ?? throw new JsonException("An empty membership row.");
}

/// <summary>One suspicion of a silo: who suspected it, and when.</summary>
internal sealed record SuspectRecord([property: JsonPropertyName("by")] string Silo, [property: JsonPropertyName("at")] DateTime Time);
