using System.Text;
using Tiered.V1;

namespace Tiered.Broker.Subscriptions.KeyShared;

/// <summary>
/// Which consumer of a Key_Shared subscription owns each key hash: contiguous ranges, each with its
/// owner, looked up by binary search (no allocation). AUTO_SPLIT places every consumer on a ring of
/// the hash space at <see cref="PointsPerConsumer"/> points derived from its name (consistent hashing):
/// a joining consumer takes about 1/n of the hashes from the others and a leaving one gives only its
/// own away, so few keys change owner, and a consumer reconnecting under its name gets its hashes
/// back. STICKY consumers own exactly the ranges they gave; hashes in no range have no owner and wait.
/// Rebuilt (under the subscription's lock) whenever a consumer joins or leaves.
/// </summary>
internal sealed class KeyHashSelector
{
    internal const int PointsPerConsumer = 100;

    private int[] _starts = [];
    private int[] _ends = [];
    private Consumer[] _owners = [];

    /// <summary>The consumer owning the hash; null when none does (STICKY ranges leave it out, or no consumer).</summary>
    public Consumer? Owner(int hash)
    {
        int low = 0, high = _ends.Length - 1;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            if (_ends[middle] < hash)
                low = middle + 1;
            else
                high = middle - 1;
        }
        return low < _ends.Length && _starts[low] <= hash ? _owners[low] : null;
    }

    /// <summary>Assigns the hash space to the consumers and sets each one's <see cref="Consumer.KeyHashRanges"/>.</summary>
    public void Rebuild(IReadOnlyList<Consumer> consumers)
    {
        var ranges = new List<(int Start, int End, Consumer Owner)>();
        if (consumers.Count > 0 && consumers[0].KeySharedMode == KeySharedPolicy.Types.Mode.Sticky)
        {
            foreach (var consumer in consumers)
            {
                foreach (var range in consumer.StickyRanges)
                    ranges.Add((range.Start, range.End, consumer));
            }
            ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
        }
        else if (consumers.Count > 0)
        {
            ranges = Ring(consumers);
        }
        _starts = [.. ranges.Select(r => r.Start)];
        _ends = [.. ranges.Select(r => r.End)];
        _owners = [.. ranges.Select(r => r.Owner)];
        foreach (var consumer in consumers)
            consumer.KeyHashRanges = [.. ranges.Where(r => r.Owner == consumer).Select(r => new KeyHashRange(r.Start, r.End))];
    }

    /// <summary>The ranges of the consistent-hashing ring: a point owns the hashes after the previous point up to itself.</summary>
    private static List<(int Start, int End, Consumer Owner)> Ring(IReadOnlyList<Consumer> consumers)
    {
        var points = new List<(int Point, long Id, Consumer Owner)>(consumers.Count * PointsPerConsumer);
        var seen = new Dictionary<string, int>();
        foreach (var consumer in consumers)
        {
            // Consumers sharing a name get distinct points: the second one is placed as "name#1".
            var occurrence = seen[consumer.Name] = seen.GetValueOrDefault(consumer.Name, -1) + 1;
            var name = occurrence == 0 ? consumer.Name : $"{consumer.Name}#{occurrence}";
            for (var i = 0; i < PointsPerConsumer; i++)
                points.Add((KeyHash.Of(Encoding.UTF8.GetBytes($"{name}{i}")), consumer.Id, consumer));
        }
        points.Sort((a, b) => a.Point != b.Point ? a.Point.CompareTo(b.Point) : a.Id.CompareTo(b.Id));
        var ranges = new List<(int Start, int End, Consumer Owner)>();
        void Add(int start, int end, Consumer owner)
        {
            if (start > end)
                return;
            if (ranges.Count > 0 && ranges[^1].Owner == owner && ranges[^1].End + 1 == start)
                ranges[^1] = (ranges[^1].Start, end, owner);
            else
                ranges.Add((start, end, owner));
        }
        var previous = -1;
        foreach (var (point, _, owner) in points)
        {
            Add(previous + 1, point, owner);
            previous = Math.Max(previous, point);
        }
        Add(previous + 1, KeyHash.Space - 1, points[0].Owner); // Past the last point the ring wraps to the first.
        return ranges;
    }
}
