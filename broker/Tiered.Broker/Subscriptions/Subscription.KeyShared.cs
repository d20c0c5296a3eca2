using System.Numerics;
using Google.Protobuf;
using Tiered.Broker.Entries;
using Tiered.Broker.Subscriptions.KeyShared;
using Tiered.ManagedLedgers;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Broker.Subscriptions;

/// <summary>
/// Key_Shared: each message goes to the consumer owning its key hash (<see cref="KeyHashSelector"/>), so a
/// key's messages reach one consumer, in order. An entry whose messages belong to several consumers is
/// split: each gets the entry with the others' batch indexes listed as acknowledged, and holds only its
/// part. Ordering across owner changes follows "draining hashes" (Pulsar's PIP-379): while messages of a
/// hash are delivered and unacknowledged at one consumer, no other consumer gets that hash; entries that
/// must wait (hash draining elsewhere, owner without permits, no owner) go to the replay set with their
/// hashes, and every later message of such a hash waits behind them, while the cursor keeps reading for
/// the other hashes. A wait ends by an acknowledgement, a consumer leaving or permits, each of which wakes
/// the dispatcher: nothing polls, nothing is left waiting on a hash nobody holds.
/// </summary>
public sealed partial class Subscription
{
    /// <summary>How many entries may wait in the replay set before the cursor stops reading ahead (Pulsar's look-ahead limit).</summary>
    internal const int MaxKeySharedReplay = 10_000;

    private readonly KeyHashSelector _keySelector = new();
    private readonly Dictionary<int, (Consumer Holder, int Parts)> _keyHolds = [];
    private readonly Dictionary<Position, int[]> _replayKeys = [];
    private readonly Dictionary<int, int> _waitingKeys = [];
    private readonly HashSet<int> _blockedKeys = [];
    private readonly List<Consumer> _entryOwners = [];
    private readonly HashSet<int> _partHashes = [];
    private int[] _keyHashes = new int[64];
    private int[] _keySlots = new int[64];
    private bool _keyReleased;

    /// <summary>Key_Shared figures for topic stats: hashes whose messages are still pending at a consumer that no longer owns them, and entries waiting.</summary>
    public (int DrainingHashes, int WaitingEntries) KeySharedState
    {
        get
        {
            lock (_lock)
                return (_keyHolds.Count(h => _keySelector.Owner(h.Key) != h.Value.Holder), _redeliver.Count);
        }
    }

    /// <summary>Under the lock, before a consumer is added: refuses a mode other than the connected consumers' and STICKY ranges another consumer holds.</summary>
    private void KeySharedJoining(Consumer consumer)
    {
        if (_consumers.Count == 0)
        {
            if (Type == SubscriptionType.KeyShared && consumer.Type != SubscriptionType.KeyShared)
                ClearKeyState();
            return;
        }
        if (consumer.Type != SubscriptionType.KeyShared)
            return;
        var connected = _consumers[0];
        if (connected.KeySharedMode != consumer.KeySharedMode)
            throw new BrokerException(BrokerErrorCode.Conflict,
                $"Key_Shared subscription {Name} of {Topic} has {Mode(connected.KeySharedMode)} consumers connected; a {Mode(consumer.KeySharedMode)} consumer cannot join it. Use the same mode, or another subscription.");
        if (consumer.KeySharedMode != KeySharedPolicy.Types.Mode.Sticky)
            return;
        foreach (var other in _consumers)
        {
            foreach (var theirs in other.StickyRanges)
            {
                foreach (var mine in consumer.StickyRanges)
                {
                    if (mine.Overlaps(theirs))
                        throw new BrokerException(BrokerErrorCode.BadRequest,
                            $"Hash range {mine} overlaps range {theirs} of consumer {other.Name} on Key_Shared subscription {Name} of {Topic}; choose ranges no connected consumer holds.");
                }
            }
        }
    }

    private static string Mode(KeySharedPolicy.Types.Mode mode) => mode == KeySharedPolicy.Types.Mode.Sticky ? "STICKY" : "AUTO_SPLIT";

    /// <summary>Under the lock, after a consumer joined or left: the hash space is assigned again.</summary>
    private void KeySharedChanged(Consumer consumer)
    {
        if (consumer.Type == SubscriptionType.KeyShared)
            _keySelector.Rebuild(_consumers);
    }

    /// <summary>Under the lock: the replay set was emptied (reset) or the subscription stops being Key_Shared.</summary>
    private void ClearKeyState()
    {
        _replayKeys.Clear();
        _waitingKeys.Clear();
        _keyHolds.Clear();
    }

    /// <summary>Under the lock: a consumer's part of an entry goes back to the replay set; its hashes stop being held and start waiting.</summary>
    private void KeysReturned(Consumer consumer, Position position, in PendingEntry pending)
    {
        ReleaseKeys(consumer, pending);
        if (pending.Keys is { } part)
            AddReplayKeys(position, part.Hashes);
        else if (pending.KeyHash >= 0)
            AddReplayKeys(position, [pending.KeyHash]);
    }

    /// <summary>Under the lock: the consumer no longer holds the entry (acknowledged or returned).</summary>
    private void ReleaseKeys(Consumer consumer, in PendingEntry pending)
    {
        if (pending.Keys is { } part)
        {
            foreach (var hash in part.Hashes)
                Release(consumer, hash);
        }
        else if (pending.KeyHash >= 0)
        {
            Release(consumer, pending.KeyHash);
        }
    }

    private void Release(Consumer consumer, int hash)
    {
        if (!_keyHolds.TryGetValue(hash, out var hold) || hold.Holder != consumer)
            return;
        if (hold.Parts > 1)
        {
            _keyHolds[hash] = (consumer, hold.Parts - 1);
            return;
        }
        _keyHolds.Remove(hash);
        if (_waitingKeys.ContainsKey(hash))
            _keyReleased = true;
    }

    private void Hold(Consumer consumer, int hash)
        => _keyHolds[hash] = _keyHolds.TryGetValue(hash, out var hold) && hold.Holder == consumer ? (consumer, hold.Parts + 1) : (consumer, 1);

    /// <summary>Under the lock: wakes the dispatcher when an acknowledgement freed a hash that entries wait for.</summary>
    private void WakeIfKeysReleased()
    {
        if (!_keyReleased)
            return;
        _keyReleased = false;
        Wake();
    }

    /// <summary>Under the lock, for a consumer holding part of a split entry: recounts what it has not acknowledged; forgets the part once all is.</summary>
    private void RecountKeyPart(Consumer consumer, Position position, PendingEntry pending, ulong[] held)
    {
        var holds = 0;
        foreach (var word in held)
            holds += BitOperations.PopCount(word);
        var acked = 0;
        foreach (var index in Cursor.AckedBatchIndexes(position))
        {
            if (index >> 6 < held.Length && (held[index >> 6] & (1UL << index)) != 0)
                acked++;
        }
        var left = Math.Max(0, holds - acked);
        if (left >= pending.Unacknowledged)
            return;
        consumer.PendingMessages -= pending.Unacknowledged - left;
        if (left > 0)
        {
            consumer.Pending[position] = pending with { Unacknowledged = left };
            return;
        }
        consumer.Pending.Remove(position);
        ReleaseKeys(consumer, pending);
    }

    /// <summary>
    /// Key_Shared: an acknowledgement of a whole entry from a consumer that holds only part of it (a split batch)
    /// acknowledges that part, never the other consumers' messages. The list as it is when there is none such.
    /// </summary>
    private IReadOnlyList<AckPosition> OnlyHeldParts(Consumer consumer, IReadOnlyList<AckPosition> acks)
    {
        if (consumer.Type != SubscriptionType.KeyShared)
            return acks;
        List<AckPosition>? expanded = null;
        lock (_lock)
        {
            for (var a = 0; a < acks.Count; a++)
            {
                var ack = acks[a];
                if (ack.BatchIndex >= 0 || !consumer.Pending.TryGetValue(ack.Position, out var pending) || pending.Keys?.Held is null)
                {
                    expanded?.Add(ack);
                    continue;
                }
                expanded ??= [.. acks.Take(a)];
                for (var i = 0; i < pending.BatchSize; i++)
                {
                    if (pending.Keys!.Holds(i))
                        expanded.Add(new AckPosition(ack.Position, i, pending.BatchSize));
                }
            }
        }
        return expanded ?? acks;
    }

    private void AddReplayKeys(Position position, int[] hashes)
    {
        if (_replayKeys.TryGetValue(position, out var existing))
        {
            var added = hashes.Where(h => Array.IndexOf(existing, h) < 0).ToArray();
            if (added.Length == 0)
                return;
            _replayKeys[position] = [.. existing, .. added];
            hashes = added;
        }
        else
        {
            _replayKeys[position] = hashes;
        }
        foreach (var hash in hashes)
            _waitingKeys[hash] = _waitingKeys.GetValueOrDefault(hash) + 1;
    }

    private void TakeReplayKeys(Position position)
    {
        if (!_replayKeys.Remove(position, out var hashes))
            return;
        foreach (var hash in hashes)
        {
            var waiting = _waitingKeys.GetValueOrDefault(hash) - 1;
            if (waiting > 0)
                _waitingKeys[hash] = waiting;
            else
                _waitingKeys.Remove(hash);
        }
    }

    /// <summary>The consumer a message of the hash may go to now; null when it must wait.</summary>
    private Consumer? KeyOwnerNow(int hash)
    {
        var owner = _keySelector.Owner(hash);
        if (owner is null || owner.Permits <= 0)
            return null;
        return _keyHolds.TryGetValue(hash, out var hold) && hold.Holder != owner ? null : owner;
    }

    /// <summary>
    /// Under the lock: takes out of the replay set, in position order, up to <paramref name="want"/> entries
    /// with a hash that may go now. A hash of an entry left waiting is blocked for the rest of the pass, so a
    /// later entry never overtakes an earlier one of the same hash.
    /// </summary>
    private List<Position> PickKeySharedReplay(int want)
    {
        _blockedKeys.Clear();
        var picked = new List<Position>();
        foreach (var position in _redeliver)
        {
            if (picked.Count >= want)
                break;
            if (!_replayKeys.TryGetValue(position, out var hashes))
            {
                picked.Add(position); // Hashes unknown (returned before the subscription was Key_Shared): read it to know.
                continue;
            }
            var any = false;
            foreach (var hash in hashes)
            {
                if (!_blockedKeys.Contains(hash) && KeyOwnerNow(hash) is not null)
                    any = true;
                else
                    _blockedKeys.Add(hash);
            }
            if (any)
                picked.Add(position);
        }
        foreach (var position in picked)
        {
            _redeliver.Remove(position);
            TakeReplayKeys(position);
        }
        return picked;
    }

    private List<AckPosition>? DeliverKeyShared(IReadOnlyList<ManagedEntry> entries, bool fresh)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        List<AckPosition>? markers = null;
        lock (_lock)
        {
            foreach (var entry in entries)
            {
                var readable = BatchHeader.TryRead(entry.Data.Span, out var header, out _);
                if (readable && header.IsMarker)
                {
                    (markers ??= []).Add(new AckPosition(entry.Position));
                    continue;
                }
                if (DivertToDeadLetter(entry))
                    continue;
                var messages = readable ? header.MessageCount : 1;
                _messagesPerEntry = _messagesPerEntry * 0.9 + messages * 0.1;
                if (HoldOrSkip(entry, messages, now))
                    continue;
                DeliverKeySharedEntry(entry, messages, fresh, now);
            }
        }
        return markers;
    }

    /// <summary>Under the lock: hands each message of the entry to its key's owner (one delivery per owner), and puts what must wait in the replay set.</summary>
    private void DeliverKeySharedEntry(ManagedEntry entry, int messages, bool fresh, long now)
    {
        const int Acked = -1, Blocked = -2, HeldElsewhere = -3;
        if (_keyHashes.Length < messages)
        {
            _keyHashes = new int[Math.Max(messages, _keyHashes.Length * 2)];
            _keySlots = new int[_keyHashes.Length];
        }
        var hashes = _keyHashes.AsSpan(0, messages);
        var slots = _keySlots.AsSpan(0, messages);
        var read = KeyHash.Read(entry.Data.Span, hashes);
        for (var i = read; i < messages; i++)
            hashes[i] = KeyHash.Of([]);
        slots.Clear();
        var acked = messages > 1 ? Cursor.AckedBatchIndexes(entry.Position) : [];
        foreach (var index in acked)
        {
            if (index < messages)
                slots[index] = Acked;
        }
        if (!fresh)
        {
            // A returned entry may be held in part by other consumers (a split entry): those indexes are theirs.
            foreach (var consumer in _consumers)
            {
                if (!consumer.Pending.TryGetValue(entry.Position, out var held))
                    continue;
                for (var i = 0; i < messages; i++)
                {
                    if (slots[i] == 0 && (held.Keys is null || held.Keys.Holds(i)))
                        slots[i] = HeldElsewhere;
                }
            }
        }
        _entryOwners.Clear();
        var blocked = 0;
        for (var i = 0; i < messages; i++)
        {
            if (slots[i] != 0)
                continue; // Acknowledged, or held by another consumer.
            var hash = hashes[i];
            // A fresh message never overtakes an older one of its hash waiting in the replay set: that one may have been
            // returned (its hold released) while this entry was being read.
            var owner = _blockedKeys.Contains(hash) || (fresh && _waitingKeys.ContainsKey(hash)) ? null : KeyOwnerNow(hash);
            if (owner is null)
            {
                _blockedKeys.Add(hash);
                slots[i] = Blocked;
                blocked++;
                continue;
            }
            var slot = _entryOwners.IndexOf(owner);
            if (slot < 0)
            {
                slot = _entryOwners.Count;
                _entryOwners.Add(owner);
            }
            slots[i] = slot + 1;
        }
        for (var slot = 0; slot < _entryOwners.Count; slot++)
            DeliverKeySharedPart(entry, messages, _entryOwners[slot], slot + 1, now);
        if (blocked > 0)
        {
            _partHashes.Clear();
            for (var i = 0; i < messages; i++)
            {
                if (slots[i] == Blocked)
                    _partHashes.Add(hashes[i]);
            }
            AddReplayKeys(entry.Position, [.. _partHashes]);
            _redeliver.Add(entry.Position);
        }
    }

    private void DeliverKeySharedPart(ManagedEntry entry, int messages, Consumer owner, int slot, long now)
    {
        var slots = _keySlots.AsSpan(0, messages);
        var hashes = _keyHashes.AsSpan(0, messages);
        var count = 0;
        var others = 0;
        _partHashes.Clear();
        for (var i = 0; i < messages; i++)
        {
            if (slots[i] == slot)
            {
                count++;
                _partHashes.Add(hashes[i]);
            }
            else if (slots[i] != -1) // Not acknowledged: another consumer's, or waiting.
            {
                others++;
            }
        }
        owner.Pending.TryGetValue(entry.Position, out var existing);
        var merging = existing.BatchSize > 0;
        PendingEntry pending;
        if (!merging && others == 0 && _partHashes.Count == 1)
        {
            var hash = hashes[slots.IndexOf(slot)];
            pending = new PendingEntry(messages, count, now) { KeyHash = hash };
            Hold(owner, hash);
        }
        else
        {
            ulong[]? held = null;
            if (others > 0 || merging)
            {
                held = existing.Keys?.Held is { } before ? (ulong[])before.Clone() : KeyPart.NewIndexSet(messages);
                for (var i = 0; i < messages; i++)
                {
                    if (slots[i] == slot)
                        KeyPart.Set(held, i);
                }
            }
            // (A record not found is default: its KeyHash reads 0, not -1, so only a real one is looked at.)
            var previous = !merging ? [] : existing.Keys?.Hashes ?? (existing.KeyHash >= 0 ? [existing.KeyHash] : []);
            foreach (var hash in _partHashes)
            {
                if (Array.IndexOf(previous, hash) < 0)
                    Hold(owner, hash);
            }
            _partHashes.UnionWith(previous);
            pending = new PendingEntry(messages, existing.Unacknowledged + count, now) { Keys = new KeyPart([.. _partHashes], held) };
        }
        owner.Permits -= count;
        owner.Pending[entry.Position] = pending;
        owner.PendingMessages += count;
        var redeliveries = _redeliveryCounts.GetValueOrDefault(entry.Position);
        var delivery = new Wire.Delivery
        {
            MessageId = new MessageId { LedgerId = entry.Position.LedgerId, EntryId = entry.Position.EntryId, Partition = Partition, BatchSize = messages },
            RedeliveryCount = redeliveries,
            Batch = UnsafeByteOperations.UnsafeWrap(entry.Data),
        };
        for (var i = 0; i < messages; i++)
        {
            if (slots[i] != slot)
                delivery.AckedBatchIndexes.Add(i);
        }
        owner.Outbox.Writer.TryWrite(new Wire.ConsumeResponse { Delivery = delivery });
        var bytes = count == messages ? entry.Data.Length : (long)entry.Data.Length * count / messages;
        Interlocked.Add(ref owner.MessagesOut, count);
        Interlocked.Add(ref owner.BytesOut, bytes);
        Interlocked.Add(ref MessagesOut, count);
        Interlocked.Add(ref BytesOut, bytes);
        if (redeliveries > 0)
        {
            Interlocked.Add(ref owner.MessagesRedelivered, count);
            Interlocked.Add(ref MessagesRedelivered, count);
        }
        Volatile.Write(ref owner.LastConsumedMs, now);
        Volatile.Write(ref LastConsumedMs, now);
    }
}
