using System.Globalization;
using global::Parquet;

namespace Tiered.Offloader.Parquet;

/// <summary>
/// Writes a sealed ledger as one Parquet object: one row per message (batches expanded) for query engines,
/// and the rebuild columns from which <see cref="LedgerParquetReader"/> restores each entry byte for byte.
/// Entries go in increasing entry id order; a row group is cut at the first entry boundary after its
/// entries reach <see cref="ParquetLedgerOptions.MaxRowGroupBytes"/>, so an entry never spans two row
/// groups and one entry is read back with the ranges of one row group.
/// </summary>
/// <remarks>Not thread-safe: one caller adds the entries, then completes.</remarks>
public sealed class LedgerParquetWriter : IAsyncDisposable
{
    private readonly Stream _output;
    private readonly long _ledgerId;
    private readonly ParquetLedgerOptions _options;
    private readonly RowGroupBuffer _rows = new();
    private readonly List<RowGroupLayout> _rowGroups = [];
    private ParquetWriter? _parquet;
    private long _lastEntryId = -1;
    private long _rowCount;
    private bool _completed;
    private bool _disposed;

    /// <param name="output">Writable, seekable (a FileStream) and at position 0: Parquet's footer records absolute offsets.</param>
    public LedgerParquetWriter(Stream output, long ledgerId, ParquetLedgerOptions options)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(options);
        if (!output.CanWrite || !output.CanSeek)
            throw new ArgumentException("The output of a LedgerParquetWriter must be writable and seekable (a FileStream).", nameof(output));
        if (output.Position != 0)
            throw new ArgumentException($"The output of a LedgerParquetWriter must start at position 0, not {output.Position}: the object's offsets are the stream's.", nameof(output));
        options.Validate();
        _output = output;
        _ledgerId = ledgerId;
        _options = options;
    }

    /// <summary>Bytes written to the output so far (row groups already cut; the footer once completed).</summary>
    public long BytesWritten => _output.Position;

    public long EntriesAdded { get; private set; }

    /// <summary>Adds the next entry; may write a row group to the output before returning.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The entry id is negative or not above the previous one.</exception>
    public async ValueTask AddEntryAsync(long entryId, ReadOnlyMemory<byte> entry, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
            throw new InvalidOperationException($"Ledger {_ledgerId}: entry {entryId} added after CompleteAsync.");
        if (entryId < 0 || entryId <= _lastEntryId)
            throw new ArgumentOutOfRangeException(nameof(entryId), entryId,
                $"Ledger {_ledgerId}: entries must be added in increasing entry id order; the previous was {_lastEntryId}.");
        if (entry.Length > ParquetLedgerOptions.MaxAllowedRowGroupBytes)
            throw new ArgumentOutOfRangeException(nameof(entry), entry.Length, $"Ledger {_ledgerId}: entry {entryId} is larger than 1 GiB.");
        // Keeps a row group's pages within Parquet.Net's int sizes whatever MaxRowGroupBytes and the entries are.
        if (_rows.EntryBytes + entry.Length > ParquetLedgerOptions.MaxAllowedRowGroupBytes)
            await FlushRowGroupAsync(cancellationToken).ConfigureAwait(false);
        _rows.Add(entryId, entry.Span);
        _lastEntryId = entryId;
        EntriesAdded++;
        if (_rows.EntryBytes >= _options.MaxRowGroupBytes)
            await FlushRowGroupAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the last row group and the footer; the output then holds the whole object.</summary>
    public async Task<ParquetObjectLayout> CompleteAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
            throw new InvalidOperationException($"Ledger {_ledgerId}: CompleteAsync called twice.");
        await FlushRowGroupAsync(cancellationToken).ConfigureAwait(false);
        var parquet = await OpenAsync(cancellationToken).ConfigureAwait(false);
        _completed = true;
        var footerOffset = BytesWritten;
        await parquet.DisposeAsync().ConfigureAwait(false);
        await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new ParquetObjectLayout(BytesWritten, footerOffset, _rowCount, _rowGroups.ToArray());
    }

    private async Task FlushRowGroupAsync(CancellationToken cancellationToken)
    {
        if (_rows.Rows == 0)
            return;
        var parquet = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var offset = BytesWritten;
        using (var rowGroup = parquet.CreateRowGroup())
            await _rows.WriteAsync(rowGroup, _ledgerId, cancellationToken).ConfigureAwait(false);
        _rowGroups.Add(new RowGroupLayout(_rows.FirstEntryId, _rows.LastEntryId, _rows.Rows, offset, BytesWritten - offset));
        _rowCount += _rows.Rows;
        _rows.Clear();
    }

    private async ValueTask<ParquetWriter> OpenAsync(CancellationToken cancellationToken)
    {
        if (_parquet is not null)
            return _parquet;
        _parquet = await ParquetWriter.CreateAsync(
            LedgerParquetSchema.Schema, _output, LedgerParquetSchema.Options(_options.Compression), append: false, cancellationToken).ConfigureAwait(false);
        _parquet.CustomMetadata = new Dictionary<string, string>
        {
            [LedgerParquetSchema.FormatKey] = LedgerParquetSchema.FormatVersion,
            [LedgerParquetSchema.LedgerIdKey] = _ledgerId.ToString(CultureInfo.InvariantCulture),
        };
        return _parquet;
    }

    /// <summary>Releases the buffers. The output is not disposed; without <see cref="CompleteAsync"/> it holds no valid object.</summary>
    public ValueTask DisposeAsync()
    {
        if (_disposed)
            return ValueTask.CompletedTask;
        _disposed = true;
        _rows.Dispose();
        return ValueTask.CompletedTask;
    }
}
