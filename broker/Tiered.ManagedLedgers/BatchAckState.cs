using System.Numerics;

namespace Tiered.ManagedLedgers;

/// <summary>
/// Which messages of one batch entry are acknowledged: bit i for message i. The count of bits set is kept as
/// they are set, so that "is the whole batch acknowledged?", asked after every single-message ack, costs nothing
/// (a scan per ack made acknowledging a batch of n messages one by one cost n² bit tests).
/// </summary>
internal sealed class BatchAckState
{
    private readonly ulong[] _bits;

    public BatchAckState(int batchSize)
    {
        BatchSize = batchSize;
        _bits = new ulong[(batchSize + 63) / 64];
    }

    /// <summary>A stored state; bits past <paramref name="batchSize"/> are ignored.</summary>
    public BatchAckState(int batchSize, IReadOnlyList<ulong> bits) : this(batchSize)
    {
        for (var i = 0; i < Math.Min(bits.Count, _bits.Length); i++)
            _bits[i] = bits[i];
        if (batchSize % 64 != 0 && _bits.Length > 0)
            _bits[^1] &= (1UL << (batchSize % 64)) - 1;
        foreach (var word in _bits)
            Count += BitOperations.PopCount(word);
    }

    public int BatchSize { get; }

    public IReadOnlyList<ulong> Bits => _bits;

    /// <summary>Messages acknowledged.</summary>
    public int Count { get; private set; }

    /// <summary>Whether every message of the batch is acknowledged.</summary>
    public bool All => Count == BatchSize;

    public void Set(int index)
    {
        if (index < 0 || index >= BatchSize)
            return;
        ref var word = ref _bits[index / 64];
        var bit = 1UL << (index % 64);
        if ((word & bit) != 0)
            return;
        word |= bit;
        Count++;
    }

    /// <summary>Messages 0 … <paramref name="index"/>.</summary>
    public void SetUpTo(int index)
    {
        for (var i = 0; i <= Math.Min(index, BatchSize - 1); i++)
            Set(i);
    }

    public bool IsSet(int index) => index >= 0 && index < BatchSize && (_bits[index / 64] & (1UL << (index % 64))) != 0;

    public List<int> Indexes()
    {
        var indexes = new List<int>(Count);
        for (var i = 0; i < BatchSize; i++)
        {
            if (IsSet(i))
                indexes.Add(i);
        }
        return indexes;
    }
}
