using System.Diagnostics.CodeAnalysis;
using Tiered.Proto.Coding;

namespace Tiered.Broker.Entries;

/// <summary>
/// What the broker needs to know of a stored batch (a serialized tiered.v1.MessageBatch), read
/// from its top-level fields without decoding the messages: their number, the publish time, and
/// for de-duplication the producer name, the first message's sequence id and the origin cluster
/// (as ranges of the batch's bytes, so that reading them allocates nothing).
/// </summary>
public readonly record struct BatchHeader(uint FormatVersion, int MessageCount, long PublishTimeMs)
{
    public const uint CurrentFormatVersion = 1;

    private const int FormatVersionField = 1;
    private const int ProducerNameField = 2;
    private const int SequenceIdField = 3;
    private const int PublishTimeField = 4;
    private const int ReplicatedFromField = 5;
    private const int MarkerField = 9;

    /// <summary>The sequence id of the batch's first message; message i has <c>SequenceId + i</c>.</summary>
    public ulong SequenceId { get; init; }

    /// <summary>The sequence id of the batch's last message.</summary>
    public ulong LastSequenceId => SequenceId + (ulong)Math.Max(0, MessageCount - 1);

    /// <summary>Where the producer name's UTF-8 bytes are in the batch (empty range: none).</summary>
    public Range ProducerName { get; init; }

    /// <summary>Where the origin cluster's name is in the batch (empty range: published here).</summary>
    public Range ReplicatedFrom { get; init; }

    /// <summary>
    /// A marker the brokers write for replicated subscriptions (<see cref="Marker"/> holds it; no messages): never
    /// delivered to consumers.
    /// </summary>
    public bool IsMarker { get; init; }

    /// <summary>Where the marker (a tiered.v1.wire.ReplicationMarker) is in the batch, when <see cref="IsMarker"/>.</summary>
    public Range Marker { get; init; }
    private const int MessagesField = 15;
    private const int DeliverAtField = 5;

    /// <summary>Reads the header; false with the reason when the bytes are not a well-formed batch with at least one message.</summary>
    public static bool TryRead(ReadOnlySpan<byte> batch, out BatchHeader header, [NotNullWhen(false)] out string? error)
        => TryRead(batch, checkMessages: false, out header, out error);

    /// <summary>
    /// Reads the header of a batch a producer sent and checks what the broker must refuse besides a
    /// malformed batch: no format version (0), and a message with a negative <c>deliver_at_ms</c>. The
    /// messages are scanned field by field, their payloads skipped, nothing allocated.
    /// </summary>
    /// <param name="allowMarkers">Only another cluster's replicator forwards markers; a producer may not send one.</param>
    public static bool TryReadToPublish(ReadOnlySpan<byte> batch, out BatchHeader header, [NotNullWhen(false)] out string? error, bool allowMarkers = false)
    {
        if (!TryRead(batch, checkMessages: true, out header, out error))
            return false;
        if (header.FormatVersion == 0)
            return Fail($"format_version is not set; set it to {CurrentFormatVersion}", out error);
        if (header.IsMarker && !allowMarkers)
            return Fail("field 9 is reserved for the brokers' marker entries; a producer may not send it", out error);
        return true;
    }

    /// <summary>
    /// The batch with <paramref name="publishTimeMs"/> as its publish time, <paramref name="producerName"/> as its
    /// producer name and/or <paramref name="replicatedFrom"/> as its origin cluster (null: left as they are): the bytes followed by the fields set again. Protobuf keeps the last
    /// value of a field it reads twice, so every reader (this header, consumers) sees the new values, and the rest of
    /// the batch is not re-encoded.
    /// </summary>
    public static byte[] Stamped(ReadOnlySpan<byte> batch, long? publishTimeMs, string? producerName, string? replicatedFrom = null)
    {
        var name = producerName is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(producerName);
        var origin = replicatedFrom is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(replicatedFrom);
        var stamped = new byte[batch.Length + (publishTimeMs is { } t ? 1 + Varint.Length((ulong)t) : 0) + (producerName is null ? 0 : 1 + Varint.Length((ulong)name) + name)
            + (replicatedFrom is null ? 0 : 1 + Varint.Length((ulong)origin) + origin)];
        batch.CopyTo(stamped);
        var at = batch.Length;
        if (publishTimeMs is { } time)
        {
            stamped[at++] = PublishTimeField << 3;
            at += Varint.Write(stamped.AsSpan(at), (ulong)time);
        }
        if (producerName is not null)
        {
            stamped[at++] = (ProducerNameField << 3) | 2;
            at += Varint.Write(stamped.AsSpan(at), (ulong)name);
            at += System.Text.Encoding.UTF8.GetBytes(producerName, stamped.AsSpan(at));
        }
        if (replicatedFrom is not null)
        {
            stamped[at++] = (ReplicatedFromField << 3) | 2;
            at += Varint.Write(stamped.AsSpan(at), (ulong)origin);
            System.Text.Encoding.UTF8.GetBytes(replicatedFrom, stamped.AsSpan(at));
        }
        return stamped;
    }

    private static bool TryRead(ReadOnlySpan<byte> batch, bool checkMessages, out BatchHeader header, [NotNullWhen(false)] out string? error)
    {
        header = default;
        uint version = 0;
        var count = 0;
        long publishTime = 0;
        ulong sequenceId = 0;
        Range producerName = default, replicatedFrom = default, marker = default;
        var isMarker = false;
        var fields = new ProtoFields(batch);
        string? malformed;
        while (fields.TryNext(out malformed))
        {
            if (fields is { Field: FormatVersionField, WireType: 0 })
                version = (uint)fields.Value;
            else if (fields is { Field: PublishTimeField, WireType: 0 })
                publishTime = (long)fields.Value;
            else if (fields is { Field: SequenceIdField, WireType: 0 })
                sequenceId = fields.Value;
            else if (fields is { Field: ProducerNameField, WireType: 2 })
                producerName = new Range(fields.BytesOffset, fields.BytesOffset + fields.Bytes.Length);
            else if (fields is { Field: ReplicatedFromField, WireType: 2 })
                replicatedFrom = new Range(fields.BytesOffset, fields.BytesOffset + fields.Bytes.Length);
            else if (fields is { Field: MarkerField, WireType: 2 })
                (isMarker, marker) = (true, new Range(fields.BytesOffset, fields.BytesOffset + fields.Bytes.Length));
            else if (fields is { Field: MessagesField, WireType: 2 })
            {
                count++;
                if (checkMessages && !TryCheckMessage(fields.Bytes, count - 1, out error))
                    return false;
            }
        }
        if (malformed is not null)
            return Fail(malformed, out error);
        if (version > CurrentFormatVersion)
            return Fail($"format version {version} is newer than this broker knows ({CurrentFormatVersion})", out error);
        if (count == 0 && !isMarker)
            return Fail("it holds no message", out error);
        header = new BatchHeader(version, count, publishTime)
        {
            SequenceId = sequenceId, ProducerName = producerName, ReplicatedFrom = replicatedFrom, IsMarker = isMarker, Marker = marker,
        };
        error = null;
        return true;
    }

    /// <summary>
    /// The latest <c>deliver_at_ms</c> of the batch's messages, ms since the epoch (0: none set; the entry is due at
    /// once). A Shared or Key_Shared subscription holds the entry until then; one pass over the messages' fields,
    /// payloads skipped, nothing allocated. A malformed batch answers 0 (it was refused when published).
    /// </summary>
    public static long LatestDeliverAt(ReadOnlySpan<byte> batch)
    {
        // A hand-rolled walk (this runs for every entry a Shared subscription dispatches): one-byte tags and lengths
        // take the short path; anything unexpected ends the walk with what was found (the batch was checked when published).
        long latest = 0;
        var at = 0;
        while (at < batch.Length)
        {
            if (!Varint.TryRead(batch, ref at, out var tag))
                return latest;
            if (tag == ((MessagesField << 3) | 2))
            {
                if (!Varint.TryRead(batch, ref at, out var length) || length > (ulong)(batch.Length - at))
                    return latest;
                latest = Math.Max(latest, DeliverAtOf(batch.Slice(at, (int)length)));
                at += (int)length;
            }
            else if (!Varint.TrySkipValue(batch, ref at, (int)(tag & 7)))
                return latest;
        }
        return latest;
    }

    /// <summary>One message's deliver_at_ms (0: none), its other fields skipped.</summary>
    private static long DeliverAtOf(ReadOnlySpan<byte> message)
    {
        long deliverAt = 0;
        var at = 0;
        while (at < message.Length)
        {
            if (!Varint.TryRead(message, ref at, out var tag))
                return deliverAt;
            if (tag == (DeliverAtField << 3))
            {
                if (!Varint.TryRead(message, ref at, out var value))
                    return deliverAt;
                deliverAt = (long)value;
            }
            else if (!Varint.TrySkipValue(message, ref at, (int)(tag & 7)))
                return deliverAt;
        }
        return deliverAt;
    }

    /// <summary>Walks one message's fields (skipping their contents) for a negative deliver_at_ms.</summary>
    private static bool TryCheckMessage(ReadOnlySpan<byte> message, int index, [NotNullWhen(false)] out string? error)
    {
        long deliverAt = 0;
        var fields = new ProtoFields(message);
        string? malformed;
        while (fields.TryNext(out malformed))
        {
            if (fields is { Field: DeliverAtField, WireType: 0 })
                deliverAt = (long)fields.Value;
        }
        if (malformed is not null)
            return Fail($"in message {index}, {malformed}", out error);
        if (deliverAt < 0)
        {
            error = $"Message {index} of the batch has deliver_at_ms {deliverAt}, a negative time; set a time in ms since the Unix epoch, or 0 to deliver at once.";
            return false;
        }
        error = null;
        return true;
    }

    private static bool Fail(string reason, out string error)
    {
        error = $"Malformed message batch: {reason}.";
        return false;
    }
}
