using Google.Protobuf;
using Tiered.ManagedLedgers.Stored;
using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.ManagedLedgers;

public sealed partial class ManagedLedger
{
    private readonly Dictionary<string, ManagedCursor> _cursors = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _cursorMutex = new(1, 1);

    /// <summary>The durable cursors.</summary>
    public IReadOnlyCollection<ManagedCursor> Cursors
    {
        get
        {
            lock (_lock)
                return [.. _cursors.Values];
        }
    }

    /// <summary>Opens a durable cursor, creating it at <paramref name="initialPosition"/> if it does not exist.</summary>
    public async Task<ManagedCursor> OpenCursorAsync(string name, InitialPosition initialPosition, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        await _cursorMutex.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfStopped();
            lock (_lock)
            {
                if (_cursors.TryGetValue(name, out var open))
                    return open;
            }
            var key = StoredPaths.Cursor(Name, name);
            var stored = await _metadata.GetAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            ManagedCursor cursor;
            if (stored is not null)
            {
                cursor = ManagedCursor.Load(this, name, key, CursorInfo.Parser.ParseFrom(stored.Value.Memory.Span), stored.Version);
            }
            else
            {
                var markDelete = initialPosition == InitialPosition.Latest ? LastConfirmedEntry : BeforeFirstPosition();
                var info = new CursorInfo { MarkDeleteLedgerId = markDelete.LedgerId, MarkDeleteEntryId = markDelete.EntryId, LastActiveMs = NowMs };
                KeyValue written;
                try
                {
                    written = await _metadata.PutAsync(key, info.ToByteArray(), expectedVersion: -1, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
                {
                    throw new ManagedLedgerFencedException($"Managed ledger {Name}: cursor {name} was created by another owner meanwhile.", e);
                }
                cursor = ManagedCursor.Load(this, name, key, info, written.Version);
                ManagedLedgerLog.CursorCreated(_logger, Name, name, markDelete);
            }
            lock (_lock)
                _cursors[name] = cursor;
            return cursor;
        }
        finally
        {
            _cursorMutex.Release();
        }
    }

    /// <summary>A cursor that is not stored: for readers. The first entry it reads is the one after <paramref name="startExclusive"/>.</summary>
    public ManagedCursor OpenNonDurableCursor(Position startExclusive)
    {
        ThrowIfStopped();
        var markDelete = startExclusive == Position.Earliest ? BeforeFirstPosition()
            : startExclusive == Position.Latest ? LastConfirmedEntry
            : startExclusive;
        return ManagedCursor.NonDurable(this, markDelete);
    }

    /// <summary>Deletes a durable cursor and its stored state. False if there was none.</summary>
    public async Task<bool> DeleteCursorAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        await _cursorMutex.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfStopped();
            ManagedCursor? cursor;
            lock (_lock)
                _cursors.Remove(name, out cursor);
            if (cursor is not null)
                await cursor.CloseAsync().ConfigureAwait(false);
            var deleted = await _metadata.DeleteAsync(StoredPaths.Cursor(Name, name), cancellationToken: cancellationToken).ConfigureAwait(false);
            return deleted || cursor is not null;
        }
        finally
        {
            _cursorMutex.Release();
        }
    }

    /// <summary>The position just before the first retained entry: where an Earliest cursor's mark-delete starts.</summary>
    private Position BeforeFirstPosition()
    {
        var first = FirstPosition;
        return first with { EntryId = first.EntryId - 1 };
    }

    private async Task LoadCursorsAsync(CancellationToken cancellationToken)
    {
        var path = StoredPaths.Cursors(Name);
        var names = await _metadata.ListChildrenAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var segment in names)
        {
            var key = $"{path}/{segment}";
            var stored = await _metadata.GetAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (stored is null)
                continue;
            var name = StoredPaths.UnescapeSegment(segment);
            var info = CursorInfo.Parser.ParseFrom(stored.Value.Memory.Span);
            // Written back unchanged: a new version, so a previous owner still running can no longer store this cursor.
            KeyValue claimed;
            try
            {
                claimed = await _metadata.PutAsync(key, stored.Value.Memory, stored.Version, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
            {
                throw new ManagedLedgerFencedException($"Managed ledger {Name}: cursor {name} was changed by another owner while this one opened it.", e);
            }
            var cursor = ManagedCursor.Load(this, name, key, info, claimed.Version);
            lock (_lock)
                _cursors[name] = cursor;
        }
    }
}
