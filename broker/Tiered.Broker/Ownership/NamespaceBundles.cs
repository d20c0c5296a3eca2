using System.Globalization;
using Tiered.Broker.Admin;
using Tiered.Broker.Naming;

namespace Tiered.Broker.Ownership;

/// <summary>
/// How a namespace's hash space is cut into bundles: sorted boundaries from 0 to
/// <see cref="uint.MaxValue"/>, bundle i being [boundary i, boundary i+1). Stored in the namespace's
/// policies (<see cref="BundlesData"/>, Pulsar's "bundles" JSON); a namespace stored before bundles
/// existed has one bundle. Finding a topic's bundle is a binary search, without allocating.
/// </summary>
public readonly struct NamespaceBundles
{
    /// <summary>Bundles of a new namespace unless the broker (--default-bundles) or the request (numBundles) says otherwise, as Pulsar.</summary>
    public const int DefaultCount = 4;

    /// <summary>The most bundles a namespace may have (Pulsar's default limit is 128 for creation; splits go further).</summary>
    public const int MaxBundles = 65_536;

    private static readonly uint[] WholeRange = [0, uint.MaxValue];

    private readonly uint[] _boundaries;

    public NamespaceBundles(NamespaceName ns, uint[]? boundaries)
        => (Namespace, _boundaries) = (ns, boundaries ?? WholeRange);

    public NamespaceName Namespace { get; }

    public int Count => _boundaries.Length - 1;

    public IReadOnlyList<uint> Boundaries => _boundaries;

    public NamespaceBundle this[int index] => new(Namespace, _boundaries[index], _boundaries[index + 1]);

    /// <summary>The bundles, in hash order.</summary>
    public IEnumerable<NamespaceBundle> All
    {
        get
        {
            for (var i = 0; i < Count; i++)
                yield return this[i];
        }
    }

    /// <summary>The bundle <paramref name="topic"/> belongs to.</summary>
    public NamespaceBundle Find(TopicName topic) => Find(NamespaceBundle.HashOf(topic));

    public NamespaceBundle Find(uint hash)
    {
        var index = Array.BinarySearch(_boundaries, hash);
        // An exact hit is the lower boundary of bundle index (or uint.MaxValue, in the last bundle).
        index = index >= 0 ? Math.Min(index, Count - 1) : ~index - 1;
        return this[index];
    }

    /// <summary>The bundle whose range is <paramref name="range"/> (0x…_0x…); false when the namespace has no such bundle.</summary>
    public bool TryGet(string range, out NamespaceBundle bundle)
    {
        bundle = default;
        if (!NamespaceBundle.TryParseRange(range, out var lower, out var upper))
            return false;
        var index = Array.BinarySearch(_boundaries, lower);
        if (index < 0 || index >= Count || _boundaries[index + 1] != upper)
            return false;
        bundle = this[index];
        return true;
    }

    /// <summary>
    /// <paramref name="count"/> bundles of equal width, as Pulsar cuts a new namespace:
    /// boundaries i × 2³²/count, the last one <see cref="uint.MaxValue"/>.
    /// </summary>
    public static NamespaceBundles Even(NamespaceName ns, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxBundles);
        var boundaries = new uint[count + 1];
        var step = (1UL << 32) / (ulong)count;
        for (var i = 0; i < count; i++)
            boundaries[i] = (uint)(step * (ulong)i);
        boundaries[count] = uint.MaxValue;
        return new NamespaceBundles(ns, boundaries);
    }

    /// <summary>
    /// The namespace with <paramref name="bundle"/> cut in two at the middle of its range; a
    /// <see cref="BrokerException"/> (BadRequest) when it is too narrow to cut or not a bundle of this namespace.
    /// </summary>
    public NamespaceBundles Split(NamespaceBundle bundle)
    {
        var index = Array.BinarySearch(_boundaries, bundle.Lower);
        if (bundle.Namespace != Namespace || index < 0 || index >= Count || _boundaries[index + 1] != bundle.Upper)
            throw new BrokerException(BrokerErrorCode.BundleNotFound, $"Bundle {bundle} is not a bundle of namespace {Namespace}; GET /admin/v2/namespaces/{Namespace}/bundles lists them.");
        if (bundle.Upper - bundle.Lower < 2 || Count >= MaxBundles)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Bundle {bundle} cannot be split further.");
        var middle = bundle.Lower + (bundle.Upper - bundle.Lower) / 2;
        var boundaries = new uint[_boundaries.Length + 1];
        Array.Copy(_boundaries, boundaries, index + 1);
        boundaries[index + 1] = middle;
        Array.Copy(_boundaries, index + 1, boundaries, index + 2, _boundaries.Length - index - 1);
        return new NamespaceBundles(Namespace, boundaries);
    }

    /// <summary>The stored form (Pulsar's JSON: boundaries as 0x-hex strings, and their count).</summary>
    public BundlesData ToData()
        => new() { Boundaries = [.. _boundaries.Select(b => string.Create(CultureInfo.InvariantCulture, $"0x{b:x8}"))], NumBundles = Count };

    /// <summary>
    /// Reads stored boundaries; null when they are not a valid cut (fewer than two, not strictly
    /// increasing, not from 0 to 0xffffffff, or not 0x-hex), so a hand-edited record cannot map a topic to no bundle.
    /// </summary>
    public static uint[]? Parse(IReadOnlyList<string>? boundaries)
    {
        if (boundaries is null || boundaries.Count < 2 || boundaries.Count > MaxBundles + 1)
            return null;
        var parsed = new uint[boundaries.Count];
        for (var i = 0; i < parsed.Length; i++)
        {
            if (!NamespaceBundle.TryParseBoundary(boundaries[i], out parsed[i]) || (i > 0 && parsed[i] <= parsed[i - 1]))
                return null;
        }
        return parsed[0] == 0 && parsed[^1] == uint.MaxValue ? parsed : null;
    }
}
