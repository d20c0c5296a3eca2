using global::Parquet;
using S = Tiered.Offloader.Parquet.LedgerParquetSchema;

namespace Tiered.Offloader.Parquet;

internal sealed partial class RowGroupBuffer
{
    private readonly PooledBuffer<long> _ledgerIds = new();
    private readonly PooledBuffer<ReadOnlyMemory<char>?> _nullableStrings = new();
    private readonly PooledBuffer<ReadOnlyMemory<char>> _strings = new();
    private readonly PooledBuffer<ReadOnlyMemory<byte>> _binaries = new();
    private readonly PooledBuffer<ReadOnlyMemory<byte>?> _nullableBinaries = new();

    /// <summary>Writes the buffered rows as the columns of <paramref name="rowGroup"/>, in schema order.</summary>
    public async Task WriteAsync(ParquetRowGroupWriter rowGroup, long ledgerId, CancellationToken cancellationToken)
    {
        _ledgerIds.Clear();
        _ledgerIds.Append(Rows).Fill(ledgerId);
        await rowGroup.WriteAsync(S.LedgerId, _ledgerIds.Memory, null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.EntryId, _entryIds.Memory, null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.BatchIndex, _batchIndexes.Memory, null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.BatchSize, _batchSizes.Memory, null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.PublishTime, _publishTimes.Memory, null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.EventTime, _eventTimes.Memory, null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.Key, NullableStrings(_keys), null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAllPartsAsync(S.PropertyKey, Strings(_propertyKeys), _mapLevels.Memory, _mapRepetitions.Memory, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAllPartsAsync(S.PropertyValue, Strings(_propertyValues), _mapLevels.Memory, _mapRepetitions.Memory, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.ProducerName, NullableStrings(_producerNames), null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.SequenceId, _sequenceIds.Memory, null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.Payload, Binaries(_payloads, _entryBytes.Array), null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.DeliverAt, _deliverAts.Memory, null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.EntryFrame, NullableBinaries(_frames, _frameBytes.Array), null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.PayloadOffset, _payloadOffsets.Memory, null, null, cancellationToken).ConfigureAwait(false);
        await rowGroup.WriteAsync(S.EntryChecksum, _checksums.Memory, null, null, cancellationToken).ConfigureAwait(false);
        rowGroup.CompleteValidate();
    }

    // A bare `null` would become an empty ReadOnlyMemory (through its conversion from a null array), not a null.
    private ReadOnlyMemory<ReadOnlyMemory<char>?> NullableStrings(PooledBuffer<Slice> slices)
    {
        _nullableStrings.Clear();
        var chars = _chars.Array;
        var destination = _nullableStrings.Append(slices.Count);
        var source = slices.Span;
        for (var i = 0; i < source.Length; i++)
            destination[i] = source[i].Offset < 0 ? default(ReadOnlyMemory<char>?) : chars.AsMemory(source[i].Offset, source[i].Length);
        return _nullableStrings.Memory;
    }

    private ReadOnlyMemory<ReadOnlyMemory<char>> Strings(PooledBuffer<Slice> slices)
    {
        _strings.Clear();
        var chars = _chars.Array;
        var destination = _strings.Append(slices.Count);
        var source = slices.Span;
        for (var i = 0; i < source.Length; i++)
            destination[i] = chars.AsMemory(source[i].Offset, source[i].Length);
        return _strings.Memory;
    }

    private ReadOnlyMemory<ReadOnlyMemory<byte>> Binaries(PooledBuffer<Slice> slices, byte[] arena)
    {
        _binaries.Clear();
        var destination = _binaries.Append(slices.Count);
        var source = slices.Span;
        for (var i = 0; i < source.Length; i++)
            destination[i] = arena.AsMemory(source[i].Offset, source[i].Length);
        return _binaries.Memory;
    }

    private ReadOnlyMemory<ReadOnlyMemory<byte>?> NullableBinaries(PooledBuffer<Slice> slices, byte[] arena)
    {
        _nullableBinaries.Clear();
        var destination = _nullableBinaries.Append(slices.Count);
        var source = slices.Span;
        for (var i = 0; i < source.Length; i++)
            destination[i] = source[i].Offset < 0 ? default(ReadOnlyMemory<byte>?) : arena.AsMemory(source[i].Offset, source[i].Length);
        return _nullableBinaries.Memory;
    }

    private void DisposeWriteBuffers()
    {
        _ledgerIds.Dispose();
        _nullableStrings.Dispose();
        _strings.Dispose();
        _binaries.Dispose();
        _nullableBinaries.Dispose();
    }
}
