using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Tiered.Broker.Naming;

namespace Tiered.Broker.Ownership;

/// <summary>
/// The unit of ownership: the topics of a namespace whose name hashes into [<see cref="Lower"/>,
/// <see cref="Upper"/>), the last bundle of a namespace also holding <see cref="uint.MaxValue"/> — as
/// Pulsar's namespace bundles. A broker owns whole bundles, never single topics, so that ownership
/// records stay few and a namespace's load can be split by halving a bundle.
/// </summary>
public readonly record struct NamespaceBundle(NamespaceName Namespace, uint Lower, uint Upper)
{
    /// <summary>The bundle covering every topic of <paramref name="ns"/>.</summary>
    public static NamespaceBundle Whole(NamespaceName ns) => new(ns, 0, uint.MaxValue);

    /// <summary>
    /// Where a topic falls in its namespace's hash range: XxHash32 of its full name, so each
    /// partition of a partitioned topic falls on its own (and may be owned by another broker).
    /// </summary>
    public static uint HashOf(TopicName topic)
    {
        var name = topic.ToString();
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(name.Length)];
        return XxHash32.HashToUInt32(utf8[..Encoding.UTF8.GetBytes(name, utf8)]);
    }

    public bool Contains(TopicName topic) => topic.Namespace == Namespace && Contains(HashOf(topic));

    public bool Contains(uint hash) => hash >= Lower && (hash < Upper || Upper == uint.MaxValue);

    /// <summary>The range as Pulsar names it in its admin API: 0x00000000_0x40000000.</summary>
    public string Range => FormatRange(Lower, Upper);

    public static string FormatRange(uint lower, uint upper)
        => string.Create(CultureInfo.InvariantCulture, $"0x{lower:x8}_0x{upper:x8}");

    /// <summary>Reads a range such as 0x00000000_0x40000000 (hex, lower below upper); false when it is not one.</summary>
    public static bool TryParseRange(string? range, out uint lower, out uint upper)
    {
        lower = upper = 0;
        if (range is null || range.Split('_') is not [var low, var high])
            return false;
        return TryParseBoundary(low, out lower) && TryParseBoundary(high, out upper) && lower < upper;
    }

    /// <summary>One boundary as Pulsar writes it: 0x followed by up to 8 hex digits.</summary>
    public static bool TryParseBoundary(string? text, out uint value)
    {
        value = 0;
        return text is { Length: > 2 and <= 10 } && text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && uint.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Pulsar's form, e.g. public/default/0x00000000_0xffffffff.</summary>
    public override string ToString() => $"{Namespace}/{Range}";
}
