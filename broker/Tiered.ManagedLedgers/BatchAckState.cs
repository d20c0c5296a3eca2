namespace Tiered.ManagedLedgers;

/// <summary>Which messages of one batch entry are acknowledged: bit i for message i.</summary>
internal sealed class BatchAckState
{
    private readonly ulong[] _bits;

    public BatchAckState(int batchSize)
    {
        BatchSize = batchSize;
        _bits = new ulong[(batchSize + 63) / 64];
    }

    public BatchAckState(int batchSize, IReadOnlyList<ulong> bits) : this(batchSize)
    {
        for (var i = 0; i < Math.Min(bits.Count, _bits.Length); i++)
            _bits[i] = bits[i];
    }

    public int BatchSize { get; }

    public IReadOnlyList<ulong> Bits => _bits;

    public void Set(int index)
    {
        if (index >= 0 && index < BatchSize)
            _bits[index / 64] |= 1UL << (index % 64);
    }

    /// <summary>Messages 0 … <paramref name="index"/>.</summary>
    public void SetUpTo(int index)
    {
        for (var i = 0; i <= Math.Min(index, BatchSize - 1); i++)
            Set(i);
    }

    /// <summary>Messages acknowledged.</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var word in _bits)
                count += System.Numerics.BitOperations.PopCount(word);
            return count;
        }
    }

    public bool IsSet(int index) => index >= 0 && index < BatchSize && (_bits[index / 64] & (1UL << (index % 64))) != 0;

    public bool All
    {
        get
        {
            for (var i = 0; i < BatchSize; i++)
            {
                if (!IsSet(i))
                    return false;
            }
            return true;
        }
    }

    public List<int> Indexes()
    {
        var indexes = new List<int>();
        for (var i = 0; i < BatchSize; i++)
        {
            if (IsSet(i))
                indexes.Add(i);
        }
        return indexes;
    }
}
