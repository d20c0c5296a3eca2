using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Tiered.Broker.Naming;

namespace Tiered.Broker.Ownership;

/// <summary>
/// The unit of ownership: the topics of a namespace whose name hashes into [<see cref="Lower"/>,
/// <see cref="Upper"/>] (both inclusive), as Pulsar's namespace bundles. A broker owns whole
/// bundles, never single topics, so that ownership records stay few and a namespace's load can
/// be split by halving a bundle. Standalone uses one bundle per namespace (<see cref="Whole"/>).
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

    public bool Contains(TopicName topic)
        => topic.Namespace == Namespace && HashOf(topic) is var hash && hash >= Lower && hash <= Upper;

    /// <summary>Pulsar's form, e.g. public/default/0x00000000_0xffffffff.</summary>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Namespace}/0x{Lower:x8}_0x{Upper:x8}");
}
