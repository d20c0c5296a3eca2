namespace Tiered.ManagedLedgers;

/// <summary>Entries <see cref="First"/> … <see cref="Last"/> (inclusive) of one ledger.</summary>
internal readonly record struct AckedRange(long LedgerId, long First, long Last)
{
    public Position Start => new(LedgerId, First);

    public Position End => new(LedgerId, Last);

    public long Count => Last - First + 1;
}

/// <summary>
/// Entries acknowledged individually after a cursor's mark-delete position, as sorted,
/// non-overlapping ranges within ledgers; adjacent acknowledgements merge into one range.
/// Not thread-safe: the cursor's lock guards it.
/// </summary>
internal sealed class AckedRanges
{
    private readonly List<AckedRange> _ranges = [];

    public int Count => _ranges.Count;

    public IReadOnlyList<AckedRange> Ranges => _ranges;

    public bool Contains(Position position)
    {
        var i = IndexAtOrBefore(position);
        return i >= 0 && _ranges[i].LedgerId == position.LedgerId && _ranges[i].Last >= position.EntryId;
    }

    /// <summary>The range holding <paramref name="position"/>, if any.</summary>
    public AckedRange? Find(Position position)
    {
        var i = IndexAtOrBefore(position);
        return i >= 0 && _ranges[i].LedgerId == position.LedgerId && _ranges[i].Last >= position.EntryId ? _ranges[i] : null;
    }

    /// <summary>The first range that starts after <paramref name="position"/>, if any.</summary>
    public AckedRange? NextAfter(Position position)
    {
        var i = IndexAtOrBefore(position) + 1;
        return i < _ranges.Count ? _ranges[i] : null;
    }

    public void Add(Position position)
    {
        var i = IndexAtOrBefore(position);
        var joinsPrevious = false;
        if (i >= 0 && _ranges[i].LedgerId == position.LedgerId)
        {
            if (_ranges[i].Last >= position.EntryId)
                return;
            joinsPrevious = _ranges[i].Last + 1 == position.EntryId;
        }
        var joinsNext = i + 1 < _ranges.Count && _ranges[i + 1].LedgerId == position.LedgerId && _ranges[i + 1].First == position.EntryId + 1;
        if (joinsPrevious && joinsNext)
        {
            _ranges[i] = _ranges[i] with { Last = _ranges[i + 1].Last };
            _ranges.RemoveAt(i + 1);
        }
        else if (joinsPrevious)
        {
            _ranges[i] = _ranges[i] with { Last = position.EntryId };
        }
        else if (joinsNext)
        {
            _ranges[i + 1] = _ranges[i + 1] with { First = position.EntryId };
        }
        else
        {
            _ranges.Insert(i + 1, new AckedRange(position.LedgerId, position.EntryId, position.EntryId));
        }
    }

    /// <summary>Adds a whole range (as stored), merging it with ranges it overlaps or touches.</summary>
    public void AddRange(AckedRange range)
    {
        var i = IndexAtOrBefore(range.Start);
        _ranges.Insert(i + 1, range);
        MergeFollowing(i >= 0 && _ranges[i].LedgerId == range.LedgerId && _ranges[i].Last + 1 >= range.First ? i : i + 1);
    }

    private void MergeFollowing(int i)
    {
        while (i + 1 < _ranges.Count && _ranges[i + 1].LedgerId == _ranges[i].LedgerId && _ranges[i + 1].First <= _ranges[i].Last + 1)
        {
            _ranges[i] = _ranges[i] with { Last = Math.Max(_ranges[i].Last, _ranges[i + 1].Last) };
            _ranges.RemoveAt(i + 1);
        }
    }

    /// <summary>Drops what is at or before <paramref name="markDelete"/>.</summary>
    public void RemoveUpTo(Position markDelete)
    {
        var drop = 0;
        while (drop < _ranges.Count && _ranges[drop].End <= markDelete)
            drop++;
        _ranges.RemoveRange(0, drop);
        if (_ranges.Count > 0 && _ranges[0].Start <= markDelete)
            _ranges[0] = _ranges[0] with { First = markDelete.EntryId + 1 };
    }

    /// <summary>Entries in ranges at or before <paramref name="last"/>.</summary>
    public long CountUpTo(Position last)
    {
        long count = 0;
        foreach (var range in _ranges)
        {
            if (range.Start > last)
                break;
            count += range.End <= last ? range.Count : last.EntryId - range.First + 1;
        }
        return count;
    }

    public void Clear() => _ranges.Clear();

    /// <summary>Index of the last range starting at or before <paramref name="position"/>; -1 if none.</summary>
    private int IndexAtOrBefore(Position position)
    {
        int low = 0, high = _ranges.Count - 1, found = -1;
        while (low <= high)
        {
            var mid = (low + high) >>> 1;
            if (_ranges[mid].Start <= position)
            {
                found = mid;
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }
        return found;
    }
}
