using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Tiered.Ledger;
using Tiered.ManagedLedgers.Stored;
using Tiered.Metadata;
using Tiered.Metadata.V1;
using Tiered.Offloader;

namespace Tiered.ManagedLedgers;

public sealed partial class ManagedLedger
{
    /// <summary>
    /// Opens (and with <paramref name="createIfMissing"/> creates) a managed ledger: loads its ledger
    /// list, recovers an unclosed last ledger, starts a new ledger for adds and loads its cursors.
    /// </summary>
    /// <param name="instrumentation">Where cache hits, rollovers and trims are counted; null: the process-wide default instance.</param>
    /// <param name="tieredStorage">Where closed ledgers are offloaded to and read back from; null: offload is not available.</param>
    /// <param name="time">The clock of ages, TTLs and backoffs; null: the system clock.</param>
    /// <exception cref="ManagedLedgerException">Missing and not to be created, or storage unreachable.</exception>
    public static async Task<ManagedLedger> OpenAsync(string name, LedgerClient ledgers, IMetadataStore metadata, ManagedLedgerOptions options,
        ILoggerFactory loggerFactory, bool createIfMissing = true, CancellationToken cancellationToken = default, Instrumentation? instrumentation = null,
        TieredStorage? tieredStorage = null, TimeProvider? time = null)
    {
        StoredPaths.ValidateName(name);
        options.Validate();
        var ledger = new ManagedLedger(name, ledgers, metadata, options, loggerFactory, instrumentation ?? Instrumentation.Shared, tieredStorage, time ?? TimeProvider.System);
        try
        {
            await ledger.LoadAsync(createIfMissing, cancellationToken).ConfigureAwait(false);
            await ledger.LoadCursorsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not ManagedLedgerException and not OperationCanceledException)
        {
            await ledger.AbandonAsync().ConfigureAwait(false);
            throw new ManagedLedgerException($"Managed ledger {name} could not be opened: {e.Message}", e);
        }
        catch
        {
            await ledger.AbandonAsync().ConfigureAwait(false);
            throw;
        }
        ManagedLedgerLog.Opened(ledger._logger, name, ledger._ledgers.Length, ledger.NumberOfEntries, ledger._current!.Writer.LedgerId, ledger._cursors.Count);
        return ledger;
    }

    /// <summary>
    /// Loads the ledger list, recovers (fences and closes) ledgers the previous owner left open,
    /// drops empty ones, and stores the list with a new current ledger appended.
    /// </summary>
    private async Task LoadAsync(bool createIfMissing, CancellationToken cancellationToken)
    {
        var stored = await _metadata.GetAsync(_infoKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (stored is null && !createIfMissing)
            throw new ManagedLedgerException($"Managed ledger {Name} not found (no {_infoKey}).");
        var info = stored is null ? new ManagedLedgerInfo() : ManagedLedgerInfo.Parser.ParseFrom(stored.Value.Memory.Span);
        var slots = new List<LedgerSlot>(info.Ledgers.Count + 1);
        var empty = new List<long>();
        foreach (var ledgerInfo in info.Ledgers)
        {
            var slot = LedgerSlot.FromStored(ledgerInfo);
            if (!slot.IsClosed)
            {
                LedgerReader reader;
                try
                {
                    reader = await _client.OpenLedgerAsync(slot.LedgerId, recovery: true, cancellationToken).ConfigureAwait(false);
                }
                catch (LedgerNotFoundException)
                {
                    continue;
                }
                slot.Entries = reader.LastAddConfirmed + 1;
                slot.Size = reader.Metadata.Length;
                slot.ClosedMs = NowMs;
                _readers[slot.LedgerId] = Task.FromResult(reader);
                ManagedLedgerLog.Recovered(_logger, Name, slot.LedgerId, slot.Entries);
            }
            if (slot.Entries == 0)
                empty.Add(slot.LedgerId);
            else
                slots.Add(slot);
        }

        var writer = await _client.CreateLedgerAsync(_options.EnsembleSize, _options.WriteQuorum, _options.AckQuorum, cancellationToken: cancellationToken).ConfigureAwait(false);
        var current = new LedgerSlot(writer.LedgerId, NowMs);
        slots.Add(current);
        var updated = new ManagedLedgerInfo();
        updated.Ledgers.AddRange(slots.Select(s => s.ToStored()));
        KeyValue written;
        try
        {
            written = await _metadata.PutAsync(_infoKey, updated.ToByteArray(), stored?.Version ?? -1, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            await DeleteLedgerQuietlyAsync(writer.LedgerId).ConfigureAwait(false);
            if (e is MetadataException { Code: MetadataErrorCode.BadVersion })
                throw new ManagedLedgerFencedException($"Managed ledger {Name} was changed by another owner while this one opened it.", e);
            throw;
        }

        lock (_lock)
        {
            _ledgers = [.. slots];
            _infoVersion = written.Version;
            _current = new OpenLedger(writer, current);
            var last = slots.LastOrDefault(s => s.Entries > 0);
            _lastConfirmed = last is null ? new Position(current.LedgerId, -1) : new Position(last.LedgerId, last.Entries - 1);
        }
        foreach (var ledgerId in empty)
            await DeleteLedgerQuietlyAsync(ledgerId).ConfigureAwait(false);
    }

    private async Task DeleteLedgerQuietlyAsync(long ledgerId)
    {
        try
        {
            await _client.DeleteLedgerAsync(ledgerId).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ManagedLedgerLog.DeleteLedgerFailed(_logger, Name, ledgerId, e);
        }
    }

    /// <summary>After a failed open: stop the writer of the new ledger, if there is one (it stays listed and empty; the next open drops it).</summary>
    private async Task AbandonAsync()
    {
        OpenLedger? current;
        lock (_lock)
        {
            _terminal ??= new ManagedLedgerClosedException($"Managed ledger {Name} could not be opened.");
            current = _current;
            _current = null;
        }
        if (current is not null)
            await current.Writer.DisposeAsync().ConfigureAwait(false);
    }
}
