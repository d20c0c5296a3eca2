using System.Diagnostics;
using System.IO.Hashing;
using Tiered.Offloader.Parquet;
using Tiered.Offloader.Stored;

namespace Tiered.Offloader;

/// <summary>What to offload: ledger <see cref="LedgerId"/> of a managed ledger, entries 0 … <see cref="LastEntryId"/>, as run <see cref="RunId"/> into <see cref="Store"/>.</summary>
public sealed record OffloadRun(StoreAddress Store, string ManagedLedger, long LedgerId, long LastEntryId, string RunId);

public sealed partial class TieredStorage
{
    private const string SpoolSuffix = ".parquet.spool";

    /// <summary>
    /// Writes the ledger's entries (which must be ids 0 … <see cref="OffloadRun.LastEntryId"/>, in
    /// order) as Parquet objects: each is assembled in the spool directory, uploaded, then checked
    /// in the store (size, its bytes, the layout its footer describes). Returns the complete
    /// record; nothing counts as offloaded until the caller stores it. At most
    /// <see cref="TieredStorageOptions.MaxConcurrentOffloads"/> ledgers are offloaded at once; more wait.
    /// </summary>
    /// <exception cref="OffloadException">Entries missing or out of order, the store failed, or an object did not verify.</exception>
    public async Task<OffloadedLedger> OffloadLedgerAsync(OffloadRun run, IAsyncEnumerable<OffloadEntry> entries, IProgress<long>? bytesRead = null,
        CancellationToken cancellationToken = default)
    {
        await _offloadSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var started = Stopwatch.GetTimestamp();
            var offloaded = await OffloadInSlotAsync(run, entries, bytesRead, cancellationToken).ConfigureAwait(false);
            Instrumentation.OffloadDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            Instrumentation.OffloadedBytes.Add(offloaded.LedgerBytes);
            return offloaded;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Instrumentation.OffloadFailures.Add(1);
            throw;
        }
        finally
        {
            _offloadSlots.Release();
        }
    }

    /// <summary>Ledgers being offloaded right now, across every managed ledger of the broker.</summary>
    public int ActiveOffloads => Options.MaxConcurrentOffloads - _offloadSlots.CurrentCount;

    private async Task<OffloadedLedger> OffloadInSlotAsync(OffloadRun run, IAsyncEnumerable<OffloadEntry> entries, IProgress<long>? bytesRead, CancellationToken cancellationToken)
    {
        var store = GetStore(run.Store);
        var result = new OffloadedLedger { RunId = run.RunId, Store = run.Store };
        Directory.CreateDirectory(Options.SpoolDirectory);
        var started = Environment.TickCount64;
        await using var source = entries.GetAsyncEnumerator(cancellationToken);
        var more = await source.MoveNextAsync().ConfigureAwait(false);
        long next = 0;
        for (var part = 0; more; part++)
        {
            var spoolPath = Path.Combine(Options.SpoolDirectory, $"ledger-{run.LedgerId}-{run.RunId}-{part:D3}{SpoolSuffix}");
            await using var spool = new FileStream(spoolPath, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16,
                FileOptions.Asynchronous | FileOptions.DeleteOnClose);
            var first = next;
            ParquetObjectLayout layout;
            await using (var writer = new LedgerParquetWriter(spool, run.LedgerId, Options.Parquet))
            {
                do
                {
                    var entry = source.Current;
                    if (entry.EntryId != next)
                        throw new OffloadException($"Offloading ledger {run.LedgerId} of {run.ManagedLedger}: expected entry {next}, got {entry.EntryId}.", isRetryable: false);
                    await writer.AddEntryAsync(entry.EntryId, entry.Data, cancellationToken).ConfigureAwait(false);
                    result.LedgerBytes += entry.Data.Length;
                    bytesRead?.Report(entry.Data.Length);
                    next++;
                    more = await source.MoveNextAsync().ConfigureAwait(false);
                }
                while (more && writer.BytesWritten < Options.MaxObjectBytes);
                layout = await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }
            await spool.FlushAsync(cancellationToken).ConfigureAwait(false);
            spool.Position = 0;
            var hash = await HashAsync(spool, cancellationToken).ConfigureAwait(false);
            spool.Position = 0;
            var key = ObjectKeys.Object(run.ManagedLedger, run.LedgerId, run.RunId, part, first, next - 1);
            await PutAsync(store, key, spool, cancellationToken).ConfigureAwait(false);
            var stored = ToStored(key, layout, hash, first, next - 1);
            await VerifyAsync(store, stored, layout, cancellationToken).ConfigureAwait(false);
            result.Objects.Add(stored);
            result.Rows += layout.Rows;
        }
        if (next != run.LastEntryId + 1)
            throw new OffloadException($"Offloading ledger {run.LedgerId} of {run.ManagedLedger}: read {next} entries, expected {run.LastEntryId + 1}.", isRetryable: true);
        result.Entries = next;
        result.Complete = true;
        OffloaderLog.LedgerOffloaded(_logger, run.ManagedLedger, run.LedgerId, result.Entries, result.LedgerBytes, result.Objects.Count,
            result.Objects.Sum(o => o.Size), store.Location, Environment.TickCount64 - started);
        return result;
    }

    private static async Task PutAsync(IObjectStore store, string key, Stream content, CancellationToken cancellationToken)
    {
        try
        {
            await store.PutAsync(key, content, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException e)
        {
            throw new OffloadException($"Uploading {key} to {store.Location} failed: {e.Message}", e.IsRetryable, e);
        }
    }

    private static OffloadedObject ToStored(string key, ParquetObjectLayout layout, ulong hash, long firstEntryId, long lastEntryId) => new()
    {
        Key = key,
        Size = layout.Size,
        FooterOffset = layout.FooterOffset,
        FirstEntryId = firstEntryId,
        LastEntryId = lastEntryId,
        Rows = layout.Rows,
        Xxhash64 = hash,
    };

    /// <summary>
    /// Checks the object as the store now holds it: its size, its bytes (the XxHash64 of all of them
    /// read back, unless the store proved them on the put) and, from its footer, each row group's
    /// rows, entries and byte range.
    /// </summary>
    private static async Task VerifyAsync(IObjectStore store, OffloadedObject stored, ParquetObjectLayout written, CancellationToken cancellationToken)
    {
        try
        {
            var size = await store.GetSizeAsync(stored.Key, cancellationToken).ConfigureAwait(false);
            if (size != stored.Size)
                throw new OffloadException($"Verifying {stored.Key} in {store.Location}: {size?.ToString() ?? "no object"} bytes stored, {stored.Size} written.", isRetryable: true);
            // A store that proves each put (S3's checked Content-MD5) need not be read back in full.
            ulong hash = stored.Xxhash64;
            if (!store.VerifiesPuts)
            {
                await using var content = await store.OpenReadAsync(stored.Key, cancellationToken).ConfigureAwait(false);
                hash = await HashAsync(content, cancellationToken).ConfigureAwait(false);
            }
            if (hash != stored.Xxhash64)
                throw new OffloadException($"Verifying {stored.Key} in {store.Location}: the stored bytes differ from those written (XxHash64 {hash:x16}, expected {stored.Xxhash64:x16}).", isRetryable: true);
            var read = (await ReadIndexAsync(store, stored, cancellationToken).ConfigureAwait(false)).Layout;
            if (read.Rows != written.Rows || !read.RowGroups.SequenceEqual(written.RowGroups))
                throw new OffloadException($"Verifying {stored.Key} in {store.Location}: its footer lists {read.Rows} rows in row groups [{string.Join(", ", read.RowGroups)}], "
                    + $"expected {written.Rows} in [{string.Join(", ", written.RowGroups)}].", isRetryable: false);
        }
        catch (ObjectStoreException e)
        {
            throw new OffloadException($"Verifying {stored.Key} in {store.Location} failed: {e.Message}", e.IsRetryable, e);
        }
    }

    private static async Task<ulong> HashAsync(Stream content, CancellationToken cancellationToken)
    {
        var hash = new XxHash64();
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                hash.Append(buffer.AsSpan(0, read));
            return hash.GetCurrentHashAsUInt64();
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
