using Microsoft.Extensions.Logging;

namespace Tiered.Bookie.Storage;

internal sealed partial class BookieStorage
{
    /// <summary>A log whose live bytes fall below this fraction is compacted (its live entries copied forward, the file deleted).</summary>
    public const double CompactBelowLiveFraction = 0.5;

    private static readonly TimeSpan GcInterval = TimeSpan.FromMinutes(1);

    private bool IsLive(long ledgerId) => _ledgers.ContainsKey(ledgerId);

    private async Task GcLoopAsync()
    {
        using var timer = new PeriodicTimer(GcInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await CollectGarbageAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or RocksDbSharp.RocksDbException)
                {
                    LogMessages.GcFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Garbage collection of entry logs (BookKeeper's GC thread): every log except the current
    /// one whose bytes are mostly deleted ledgers is compacted: its live entries are appended to
    /// the current log, the index is pointed at them and made durable, then the old file is
    /// deleted. Runs under the flush lock, as the entry log has a single writer. Returns how many
    /// logs were reclaimed.
    /// </summary>
    public async Task<int> CollectGarbageAsync(CancellationToken cancellationToken)
    {
        await _flushLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var reclaimed = 0;
            foreach (var logId in _entryLog.LogIds.ToList())
            {
                if (logId == _entryLog.CurrentLogId || _entryLog.Usage(logId).LiveFraction(IsLive) >= CompactBelowLiveFraction)
                    continue;
                var relocations = new List<LedgerIndexEntry>();
                var result = _entryLog.Compact(logId, IsLive,
                    (ledgerId, entryId, location) => relocations.Add(new LedgerIndexEntry(ledgerId, entryId, location)),
                    () =>
                    {
                        _index.PutBatch(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(relocations));
                        _index.Flush();
                    });
                LogMessages.Compacted(_logger, logId, result.EntriesMoved, result.EntriesDropped, result.BytesReclaimed);
                reclaimed++;
            }
            return reclaimed;
        }
        finally
        {
            _flushLock.Release();
        }
    }
}
