using System.Text;

namespace Tiered.Offloader.Parquet;

/// <summary>
/// The rows of the row group being built. An added entry is copied once into an arena; payloads, frames
/// and strings are recorded as (offset, length) into the arenas and become <see cref="ReadOnlyMemory{T}"/>
/// slices only when the row group is written, so Parquet.Net encodes straight from the arenas. Every
/// buffer is pooled and kept for the next row group.
/// </summary>
internal sealed partial class RowGroupBuffer : IDisposable
{
    private static readonly DateTime MinTimestamp = DateTime.SpecifyKind(DateTime.MinValue, DateTimeKind.Utc);
    private static readonly long MinTimestampMs = (DateTime.MinValue.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMillisecond;
    private static readonly long MaxTimestampMs = (DateTime.MaxValue.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMillisecond;

    private readonly MessageBatchScan _scan = new();
    private readonly PooledBuffer<byte> _entryBytes = new(1 << 20);
    private readonly PooledBuffer<byte> _frameBytes = new(1 << 16);
    private readonly PooledBuffer<char> _chars = new(1 << 16);

    private readonly PooledBuffer<long> _entryIds = new();
    private readonly PooledBuffer<int> _batchIndexes = new();
    private readonly PooledBuffer<int> _batchSizes = new();
    private readonly PooledBuffer<DateTime> _publishTimes = new();
    private readonly PooledBuffer<DateTime?> _eventTimes = new();
    private readonly PooledBuffer<Slice> _keys = new();
    private readonly PooledBuffer<int> _mapLevels = new();
    private readonly PooledBuffer<int> _mapRepetitions = new();
    private readonly PooledBuffer<Slice> _propertyKeys = new();
    private readonly PooledBuffer<Slice> _propertyValues = new();
    private readonly PooledBuffer<Slice> _producerNames = new();
    private readonly PooledBuffer<long> _sequenceIds = new();
    private readonly PooledBuffer<Slice> _payloads = new();
    private readonly PooledBuffer<DateTime?> _deliverAts = new();
    private readonly PooledBuffer<Slice> _frames = new();
    private readonly PooledBuffer<long> _payloadOffsets = new();
    private readonly PooledBuffer<long?> _checksums = new();

    /// <summary>An (offset, length) into an arena; offset -1 is null.</summary>
    private readonly record struct Slice(int Offset, int Length)
    {
        public static readonly Slice Null = new(-1, 0);
    }

    public long FirstEntryId { get; private set; } = -1;
    public long LastEntryId { get; private set; } = -1;
    public int Rows => _entryIds.Count;
    public long EntryBytes => _entryBytes.Count;

    /// <summary>Adds an entry's rows: one per message of a MessageBatch, else one holding the whole entry.</summary>
    public void Add(long entryId, ReadOnlySpan<byte> entry)
    {
        if (FirstEntryId < 0)
            FirstEntryId = entryId;
        LastEntryId = entryId;
        var entryStart = _entryBytes.Count;
        entry.CopyTo(_entryBytes.Append(entry.Length));
        var rows = Rows;
        if (_scan.TryScan(entry))
            AddBatch(entryId, entry, entryStart);
        else
            AddRaw(entryId, entry.Length, entryStart);
        // The entry's checksum on its first row, so a reader can tell a rebuilt entry is the one added.
        _checksums.Append(Rows - rows).Fill(null);
        _checksums.Span[rows] = (long)System.IO.Hashing.XxHash64.HashToUInt64(entry);
    }

    private void AddRaw(long entryId, int length, int entryStart)
    {
        _entryIds.Add(entryId);
        _batchIndexes.Add(0);
        _batchSizes.Add(0);
        _publishTimes.Add(DateTime.UnixEpoch);
        _eventTimes.Add(null);
        _keys.Add(Slice.Null);
        _mapLevels.Add(LedgerParquetSchema.NullMap);
        _mapRepetitions.Add(0);
        _producerNames.Add(Slice.Null);
        _sequenceIds.Add(0);
        _payloads.Add(new Slice(entryStart, length));
        _deliverAts.Add(null);
        _frames.Add(new Slice(_frameBytes.Count, 0));
        _payloadOffsets.Add(0);
    }

    private void AddBatch(long entryId, ReadOnlySpan<byte> entry, int entryStart)
    {
        var messages = _scan.Messages;
        var properties = _scan.Properties;
        var publishTime = ToTimestamp(_scan.PublishTimeMs);
        var producerName = _scan.ProducerNameOffset < 0 ? Slice.Null : AddString(entry.Slice(_scan.ProducerNameOffset, _scan.ProducerNameLength));
        var frameStart = _frameBytes.Count;
        var framed = 0;
        for (var i = 0; i < messages.Length; i++)
        {
            ref readonly var message = ref messages[i];
            _entryIds.Add(entryId);
            _batchIndexes.Add(i);
            _batchSizes.Add(messages.Length);
            _publishTimes.Add(publishTime);
            _eventTimes.Add(message.EventTimeMs == 0 ? null : ToTimestamp(message.EventTimeMs));
            _keys.Add(message.KeyOffset < 0 ? Slice.Null : AddString(entry.Slice(message.KeyOffset, message.KeyLength)));
            AddProperties(entry, properties.Slice(message.FirstProperty, message.PropertyCount));
            _producerNames.Add(producerName);
            _sequenceIds.Add((long)(_scan.SequenceId + (ulong)i));
            _payloads.Add(new Slice(entryStart + message.PayloadOffset, message.PayloadLength));
            _deliverAts.Add(message.DeliverAtMs == 0 ? null : ToTimestamp(message.DeliverAtMs));
            _frames.Add(i == 0 ? new Slice(frameStart, 0) : Slice.Null);
            _payloadOffsets.Add(message.PayloadOffset);
            entry[framed..message.PayloadOffset].CopyTo(_frameBytes.Append(message.PayloadOffset - framed));
            framed = message.PayloadOffset + message.PayloadLength;
        }
        entry[framed..].CopyTo(_frameBytes.Append(entry.Length - framed));
        _frames.Span[^messages.Length] = new Slice(frameStart, _frameBytes.Count - frameStart);
    }

    private void AddProperties(ReadOnlySpan<byte> entry, ReadOnlySpan<ScannedProperty> properties)
    {
        if (properties.IsEmpty)
        {
            _mapLevels.Add(LedgerParquetSchema.EmptyMap);
            _mapRepetitions.Add(0);
            return;
        }
        for (var i = 0; i < properties.Length; i++)
        {
            _mapLevels.Add(LedgerParquetSchema.MapEntry);
            _mapRepetitions.Add(i == 0 ? 0 : 1);
            _propertyKeys.Add(AddString(entry.Slice(properties[i].KeyOffset, properties[i].KeyLength)));
            _propertyValues.Add(AddString(entry.Slice(properties[i].ValueOffset, properties[i].ValueLength)));
        }
    }

    private Slice AddString(ReadOnlySpan<byte> utf8)
    {
        var start = _chars.Count;
        var written = Encoding.UTF8.GetChars(utf8, _chars.Append(utf8.Length));
        _chars.Truncate(start + written);
        return new Slice(start, written);
    }

    /// <summary>Milliseconds since the epoch as a UTC DateTime, clamped to DateTime's range (years 1 to 9999).</summary>
    private static DateTime ToTimestamp(long unixMs)
    {
        if (unixMs <= MinTimestampMs)
            return MinTimestamp;
        unixMs = Math.Min(unixMs, MaxTimestampMs);
        return new DateTime(DateTime.UnixEpoch.Ticks + unixMs * TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
    }

    /// <summary>Forgets the rows (after they were written), keeping the buffers.</summary>
    public void Clear()
    {
        FirstEntryId = LastEntryId = -1;
        _entryBytes.Clear();
        _frameBytes.Clear();
        _chars.Clear();
        _entryIds.Clear();
        _batchIndexes.Clear();
        _batchSizes.Clear();
        _publishTimes.Clear();
        _eventTimes.Clear();
        _keys.Clear();
        _mapLevels.Clear();
        _mapRepetitions.Clear();
        _propertyKeys.Clear();
        _propertyValues.Clear();
        _producerNames.Clear();
        _sequenceIds.Clear();
        _payloads.Clear();
        _deliverAts.Clear();
        _frames.Clear();
        _payloadOffsets.Clear();
        _checksums.Clear();
    }

    public void Dispose()
    {
        _entryBytes.Dispose();
        _frameBytes.Dispose();
        _chars.Dispose();
        _entryIds.Dispose();
        _batchIndexes.Dispose();
        _batchSizes.Dispose();
        _publishTimes.Dispose();
        _eventTimes.Dispose();
        _keys.Dispose();
        _mapLevels.Dispose();
        _mapRepetitions.Dispose();
        _propertyKeys.Dispose();
        _propertyValues.Dispose();
        _producerNames.Dispose();
        _sequenceIds.Dispose();
        _payloads.Dispose();
        _deliverAts.Dispose();
        _frames.Dispose();
        _payloadOffsets.Dispose();
        _checksums.Dispose();
        DisposeWriteBuffers();
    }
}
