using System.Collections.Concurrent;

namespace Tiered.Security.Tokens;

/// <summary>
/// Tokens already verified, by their exact text, with their role, each forgotten when its token expires. A client
/// opens a stream or sends a request with the same token again and again; this spares the signature check each time.
/// Bounded: when full, expired entries go first, then a tenth of the rest (any: a token dropped is only verified again).
/// A changed token is another string, so it is never taken for a cached one.
/// </summary>
internal sealed class VerifiedTokenCache(int capacity, TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _trimming = new();
    private long _hits;

    public int Count => _entries.Count;

    /// <summary>How many validations the cache answered.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    public bool TryGet(string token, out TokenValidation validation)
    {
        validation = null!;
        if (!_entries.TryGetValue(token, out var entry))
            return false;
        if (entry.EvictAt is { } evictAt && timeProvider.GetUtcNow() >= evictAt)
        {
            _entries.TryRemove(new KeyValuePair<string, Entry>(token, entry));
            return false;
        }
        Interlocked.Increment(ref _hits);
        validation = entry.Validation;
        return true;
    }

    /// <summary>Remembers an accepted token until <paramref name="evictAt"/> (its exp plus the clock skew), or while there is room when it has none.</summary>
    public void Add(string token, TokenValidation validation, DateTimeOffset? evictAt)
    {
        if (capacity <= 0)
            return;
        if (_entries.Count >= capacity)
            Trim();
        _entries[token] = new Entry(validation, evictAt);
    }

    private void Trim()
    {
        lock (_trimming)
        {
            if (_entries.Count < capacity)
                return;
            var now = timeProvider.GetUtcNow();
            foreach (var (token, entry) in _entries)
            {
                if (entry.EvictAt <= now)
                    _entries.TryRemove(token, out _);
            }
            var excess = _entries.Count - (capacity - Math.Max(1, capacity / 10));
            foreach (var token in _entries.Keys)
            {
                if (excess-- <= 0)
                    break;
                _entries.TryRemove(token, out _);
            }
        }
    }

    private sealed record Entry(TokenValidation Validation, DateTimeOffset? EvictAt);
}
