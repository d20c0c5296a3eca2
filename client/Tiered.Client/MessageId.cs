using System.Globalization;

namespace Tiered.Client;

/// <summary>
/// Where a message is stored: the entry (<see cref="LedgerId"/>, <see cref="EntryId"/>) of a topic or of one
/// <see cref="Partition"/> (-1 for a topic without partitions), and the message's <see cref="BatchIndex"/> in that
/// entry's batch. Ids of one partition compare in storage order.
/// </summary>
public readonly record struct MessageId(long LedgerId, long EntryId, int Partition, int BatchIndex) : IComparable<MessageId>
{
    /// <summary>Before every message: a reader starting here reads the oldest message retained.</summary>
    public static readonly MessageId Earliest = new(-1, -1, -1, -1);

    /// <summary>After every message: a reader starting here reads only messages published from now on.</summary>
    public static readonly MessageId Latest = new(long.MaxValue, long.MaxValue, -1, -1);

    public int CompareTo(MessageId other)
    {
        var c = LedgerId.CompareTo(other.LedgerId);
        if (c != 0)
            return c;
        c = EntryId.CompareTo(other.EntryId);
        if (c != 0)
            return c;
        c = Partition.CompareTo(other.Partition);
        return c != 0 ? c : BatchIndex.CompareTo(other.BatchIndex);
    }

    public static bool operator <(MessageId left, MessageId right) => left.CompareTo(right) < 0;

    public static bool operator >(MessageId left, MessageId right) => left.CompareTo(right) > 0;

    public static bool operator <=(MessageId left, MessageId right) => left.CompareTo(right) <= 0;

    public static bool operator >=(MessageId left, MessageId right) => left.CompareTo(right) >= 0;

    /// <summary>Pulsar's notation, <c>ledger:entry:partition:batchIndex</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{LedgerId}:{EntryId}:{Partition}:{BatchIndex}");

    /// <summary>Parses <see cref="ToString"/>'s notation; the partition and batch index may be left out (-1 and 0).</summary>
    public static MessageId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(':');
        if (parts.Length is < 2 or > 4)
            throw new FormatException($"'{text}' is not a message id (ledger:entry[:partition[:batchIndex]]).");
        var inv = CultureInfo.InvariantCulture;
        return new MessageId(
            long.Parse(parts[0], inv),
            long.Parse(parts[1], inv),
            parts.Length > 2 ? int.Parse(parts[2], inv) : -1,
            parts.Length > 3 ? int.Parse(parts[3], inv) : 0);
    }

    internal static MessageId FromProto(V1.MessageId id) => new(id.LedgerId, id.EntryId, id.Partition, id.BatchIndex);

    internal V1.MessageId ToProto(int batchSize = 0) => new()
    {
        LedgerId = LedgerId,
        EntryId = EntryId,
        Partition = Partition,
        BatchIndex = BatchIndex,
        BatchSize = batchSize,
    };
}
