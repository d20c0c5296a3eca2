using Tiered.Broker.Entries;
using Tiered.Proto.Hashing;

namespace Tiered.Broker.Subscriptions.KeyShared;

/// <summary>
/// The key hash a Key_Shared subscription routes by: MurmurHash3 x86 32-bit (seed 0) of the key's UTF-8
/// bytes modulo 65536, as Pulsar computes it, so a key's hash is the same whichever client produced it.
/// It is read from the stored batch's bytes: no string is made for a key.
/// </summary>
public static class KeyHash
{
    /// <summary>The size of the hash space: hashes run from 0 to 65535.</summary>
    public const int Space = 65536;

    private const int MessagesField = 15;
    private const int KeyField = 2;

    /// <summary>The hash (0 … 65535) of a key's UTF-8 bytes; a message without a key hashes as the empty key.</summary>
    public static int Of(ReadOnlySpan<byte> key) => (int)(Murmur3.Hash32(key) % Space);

    /// <summary>
    /// Writes the key hash of each message of a stored batch into <paramref name="hashes"/> (one per
    /// message, in order) and answers how many it wrote; the messages' fields are walked, nothing is
    /// allocated. A batch that cannot be read counts as one message without a key.
    /// </summary>
    internal static int Read(ReadOnlySpan<byte> batch, Span<int> hashes)
    {
        var count = 0;
        var fields = new ProtoFields(batch);
        while (fields.TryNext(out _) && count < hashes.Length)
        {
            if (fields is not { Field: MessagesField, WireType: 2 })
                continue;
            var key = ReadOnlySpan<byte>.Empty;
            var message = new ProtoFields(fields.Bytes);
            while (message.TryNext(out _))
            {
                if (message is { Field: KeyField, WireType: 2 })
                    key = message.Bytes; // Protobuf keeps the last value of a field given twice.
            }
            hashes[count++] = Of(key);
        }
        if (count == 0 && hashes.Length > 0)
            hashes[count++] = Of([]);
        return count;
    }
}

/// <summary>Key hashes <see cref="Start"/> … <see cref="End"/>, both included.</summary>
public readonly record struct KeyHashRange(int Start, int End)
{
    public bool Overlaps(KeyHashRange other) => Start <= other.End && other.Start <= End;

    /// <summary>Pulsar's form in topic stats: <c>[start, end]</c>.</summary>
    public override string ToString() => $"[{Start}, {End}]";

    /// <summary>Why the ranges a STICKY consumer asks for cannot be taken (null: they can): each within 0 … 65535, start ≤ end, none overlapping another.</summary>
    public static string? Check(IReadOnlyList<KeyHashRange> ranges)
    {
        if (ranges.Count == 0)
            return "A STICKY Key_Shared consumer must give at least one hash range (start … end within 0 … 65535).";
        for (var i = 0; i < ranges.Count; i++)
        {
            var range = ranges[i];
            if (range.Start < 0 || range.End >= KeyHash.Space)
                return $"Hash range {range} is outside 0 … 65535; give ranges within the key hash space.";
            if (range.Start > range.End)
                return $"Hash range {range} starts after it ends; give start ≤ end.";
            for (var j = 0; j < i; j++)
            {
                if (ranges[j].Overlaps(range))
                    return $"Hash ranges {ranges[j]} and {range} overlap; give each hash once.";
            }
        }
        return null;
    }
}
