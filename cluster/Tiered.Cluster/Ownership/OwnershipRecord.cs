using System.Text.Json;
using Tiered.Broker.Ownership;

namespace Tiered.Cluster.Ownership;

/// <summary>
/// What <c>/namespace/{tenant}/{namespace}/{range}</c> holds while a broker owns that bundle: the
/// broker's id and its URLs. The key is ephemeral, written under the owner's metadata session, so
/// it goes when the owner releases the bundle, when its session expires, or when another broker
/// takes over from an owner the cluster declared dead (compare-and-set on the key's version).
/// </summary>
public sealed record OwnershipRecord(string BrokerId, string BrokerUrl, string HttpUrl, DateTimeOffset Since)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public BrokerUrls Urls => new(BrokerUrl, HttpUrl);

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>The stored record; null when it is not one (a hand-written key), which counts as nobody's.</summary>
    public static OwnershipRecord? FromJson(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<OwnershipRecord>(json, Json) is { BrokerId.Length: > 0, BrokerUrl.Length: > 0 } record ? record : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
