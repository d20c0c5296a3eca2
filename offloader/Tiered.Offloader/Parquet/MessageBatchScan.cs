namespace Tiered.Offloader.Parquet;

/// <summary>One message of a scanned entry: byte ranges into the entry, and its scalar fields.</summary>
internal struct ScannedMessage
{
    /// <summary>Where the payload's bytes (not its tag or length) start in the entry.</summary>
    public int PayloadOffset;
    public int PayloadLength;
    /// <summary>-1 when the key is absent or empty.</summary>
    public int KeyOffset;
    public int KeyLength;
    public int FirstProperty;
    public int PropertyCount;
    public long EventTimeMs;
    public long DeliverAtMs;
}

/// <summary>One map entry of a message's properties: byte ranges of its key and value in the entry.</summary>
internal struct ScannedProperty
{
    public int KeyOffset;
    public int KeyLength;
    public int ValueOffset;
    public int ValueLength;
}

/// <summary>
/// Scans an entry as a <c>tiered.v1.MessageBatch</c> on the wire, without materializing it: where each
/// message's payload sits (so the payload can be cut out of the entry and spliced back byte for byte) and
/// the fields that become columns. Follows protobuf's rules — the last occurrence of a scalar field wins,
/// unknown fields and known fields of an unexpected wire type are skipped, the last map entry of a key
/// wins. One instance is reused for every entry of a writer: it allocates only when an entry has more
/// messages or properties than any before it.
/// </summary>
internal sealed class MessageBatchScan
{
    private ScannedMessage[] _messages = new ScannedMessage[128];
    private ScannedProperty[] _properties = new ScannedProperty[128];

    public int MessageCount { get; private set; }
    public uint FormatVersion { get; private set; }
    /// <summary>-1 when absent or empty.</summary>
    public int ProducerNameOffset { get; private set; }
    public int ProducerNameLength { get; private set; }
    public ulong SequenceId { get; private set; }
    public long PublishTimeMs { get; private set; }

    public ReadOnlySpan<ScannedMessage> Messages => _messages.AsSpan(0, MessageCount);
    public ReadOnlySpan<ScannedProperty> Properties => _properties;

    /// <summary>
    /// True when <paramref name="entry"/> is a well-formed MessageBatch of format version 1 with at least
    /// one message; false for anything else (the entry is then stored whole).
    /// </summary>
    public bool TryScan(ReadOnlySpan<byte> entry)
    {
        MessageCount = 0;
        FormatVersion = 0;
        ProducerNameOffset = -1;
        ProducerNameLength = 0;
        SequenceId = 0;
        PublishTimeMs = 0;
        var propertyCount = 0;
        var position = 0;
        while (position < entry.Length)
        {
            if (!ProtoWire.TryReadTag(entry, ref position, out var field, out var wireType))
                return false;
            switch (field, wireType)
            {
                case (1, ProtoWire.Varint):
                    if (!ProtoWire.TryReadVarint(entry, ref position, out var version))
                        return false;
                    FormatVersion = (uint)version;
                    break;
                case (2, ProtoWire.LengthDelimited):
                    if (!ProtoWire.TryReadLength(entry, ref position, out var nameLength))
                        return false;
                    ProducerNameOffset = nameLength == 0 ? -1 : position;
                    ProducerNameLength = nameLength;
                    position += nameLength;
                    break;
                case (3, ProtoWire.Varint):
                    if (!ProtoWire.TryReadVarint(entry, ref position, out var sequenceId))
                        return false;
                    SequenceId = sequenceId;
                    break;
                case (4, ProtoWire.Varint):
                    if (!ProtoWire.TryReadVarint(entry, ref position, out var publishTime))
                        return false;
                    PublishTimeMs = (long)publishTime;
                    break;
                case (15, ProtoWire.LengthDelimited):
                    if (!ProtoWire.TryReadLength(entry, ref position, out var messageLength)
                        || !TryScanMessage(entry, position, position + messageLength, ref propertyCount))
                        return false;
                    position += messageLength;
                    break;
                default:
                    if (!ProtoWire.TrySkip(entry, ref position, wireType))
                        return false;
                    break;
            }
        }
        return FormatVersion == 1 && MessageCount > 0;
    }

    private bool TryScanMessage(ReadOnlySpan<byte> entry, int start, int end, ref int propertyCount)
    {
        var message = new ScannedMessage { PayloadOffset = start, KeyOffset = -1, FirstProperty = propertyCount };
        var data = entry[..end];
        var position = start;
        while (position < end)
        {
            if (!ProtoWire.TryReadTag(data, ref position, out var field, out var wireType))
                return false;
            switch (field, wireType)
            {
                case (1, ProtoWire.LengthDelimited):
                    if (!ProtoWire.TryReadLength(data, ref position, out var payloadLength))
                        return false;
                    message.PayloadOffset = position;
                    message.PayloadLength = payloadLength;
                    position += payloadLength;
                    break;
                case (2, ProtoWire.LengthDelimited):
                    if (!ProtoWire.TryReadLength(data, ref position, out var keyLength))
                        return false;
                    message.KeyOffset = keyLength == 0 ? -1 : position;
                    message.KeyLength = keyLength;
                    position += keyLength;
                    break;
                case (3, ProtoWire.LengthDelimited):
                    if (!ProtoWire.TryReadLength(data, ref position, out var entryLength)
                        || !TryScanProperty(data, position, position + entryLength, ref message, ref propertyCount))
                        return false;
                    position += entryLength;
                    break;
                case (4, ProtoWire.Varint):
                    if (!ProtoWire.TryReadVarint(data, ref position, out var eventTime))
                        return false;
                    message.EventTimeMs = (long)eventTime;
                    break;
                case (5, ProtoWire.Varint):
                    if (!ProtoWire.TryReadVarint(data, ref position, out var deliverAt))
                        return false;
                    message.DeliverAtMs = (long)deliverAt;
                    break;
                default:
                    if (!ProtoWire.TrySkip(data, ref position, wireType))
                        return false;
                    break;
            }
        }
        if (MessageCount == _messages.Length)
            Array.Resize(ref _messages, _messages.Length * 2);
        _messages[MessageCount++] = message;
        return true;
    }

    private bool TryScanProperty(ReadOnlySpan<byte> entry, int start, int end, ref ScannedMessage message, ref int propertyCount)
    {
        var property = new ScannedProperty { KeyOffset = start, ValueOffset = start };
        var data = entry[..end];
        var position = start;
        while (position < end)
        {
            if (!ProtoWire.TryReadTag(data, ref position, out var field, out var wireType))
                return false;
            if (field is 1 or 2 && wireType == ProtoWire.LengthDelimited)
            {
                if (!ProtoWire.TryReadLength(data, ref position, out var length))
                    return false;
                if (field == 1)
                    (property.KeyOffset, property.KeyLength) = (position, length);
                else
                    (property.ValueOffset, property.ValueLength) = (position, length);
                position += length;
            }
            else if (!ProtoWire.TrySkip(data, ref position, wireType))
            {
                return false;
            }
        }
        var key = entry.Slice(property.KeyOffset, property.KeyLength);
        for (var i = message.FirstProperty; i < message.FirstProperty + message.PropertyCount; i++)
        {
            if (entry.Slice(_properties[i].KeyOffset, _properties[i].KeyLength).SequenceEqual(key))
            {
                _properties[i] = property;
                return true;
            }
        }
        if (propertyCount == _properties.Length)
            Array.Resize(ref _properties, _properties.Length * 2);
        _properties[propertyCount++] = property;
        message.PropertyCount++;
        return true;
    }
}
