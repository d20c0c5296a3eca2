using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tiered.Broker;

/// <summary>
/// What a live broker records about itself at <c>/brokers/{id}</c> (ephemeral: gone when its
/// metadata session ends): where clients and operators reach it.
/// </summary>
public sealed record BrokerRegistration(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("grpcUrl")] string GrpcUrl,
    [property: JsonPropertyName("httpUrl")] string HttpUrl,
    [property: JsonPropertyName("cluster")] string Cluster,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("startTime")] DateTimeOffset StartTime)
{
    /// <summary>This build's version (informational version of the broker assembly).</summary>
    public static readonly string CurrentVersion =
        typeof(BrokerRegistration).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this);

    public static BrokerRegistration? FromJson(ReadOnlySpan<byte> json) => JsonSerializer.Deserialize<BrokerRegistration>(json);
}
