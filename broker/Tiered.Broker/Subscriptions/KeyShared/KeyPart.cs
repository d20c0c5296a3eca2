namespace Tiered.Broker.Subscriptions.KeyShared;

/// <summary>
/// What a Key_Shared consumer holds of an entry when it is not simply "the whole entry, one key hash":
/// the distinct key hashes of its messages, and (when the entry was split among consumers) which batch
/// indexes it holds. Made only for such entries, so a subscription whose entries hold one key each
/// allocates none.
/// </summary>
internal sealed class KeyPart(int[] hashes, ulong[]? held)
{
    /// <summary>The distinct key hashes of the messages held.</summary>
    public int[] Hashes { get; set; } = hashes;

    /// <summary>Bit i set: the consumer holds batch index i; null: it holds every index not acknowledged.</summary>
    public ulong[]? Held { get; set; } = held;

    public bool Holds(int index) => Held is null || (index >> 6 < Held.Length && (Held[index >> 6] & (1UL << index)) != 0);

    public static ulong[] NewIndexSet(int batchSize) => new ulong[(batchSize + 63) >> 6];

    public static void Set(ulong[] set, int index) => set[index >> 6] |= 1UL << index;
}
