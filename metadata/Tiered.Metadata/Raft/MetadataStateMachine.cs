using System.Buffers;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Tiered.Metadata.State;
using Tiered.Metadata.V1;

namespace Tiered.Metadata.Raft;

/// <summary>
/// Applies committed Raft entries (each a <see cref="CommandBatch"/>) to the in-memory
/// <see cref="MetadataState"/> and snapshots it to disk every few thousand entries.
/// On the leader each entry carries its <see cref="ProposedBatch"/> as context, whose
/// callers are answered here, after the entry is committed by a majority.
/// </summary>
internal sealed partial class MetadataStateMachine(DirectoryInfo location, MetadataState state, int snapshotEveryEntries, ILogger logger)
    : SimpleStateMachine(location)
{
    private long _lastApplied;

    public MetadataState State => state;

    public long LastAppliedIndex => Volatile.Read(ref _lastApplied);

    protected override ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token)
    {
        Volatile.Write(ref _lastApplied, entry.Index);
        // Configuration entries and the empty entry a new leader appends carry no commands.
        if (entry.IsConfiguration || Parse(entry) is not { } batch)
            return ValueTask.FromResult(false);

        var proposed = entry.Context as ProposedBatch;
        lock (state.Sync)
        {
            for (var i = 0; i < batch.Commands.Count; i++)
            {
                IMessage? result = null;
                MetadataException? error = null;
                try
                {
                    result = state.Apply(batch.Commands[i], batch.ProposedAtMs);
                }
                catch (MetadataException e)
                {
                    error = e;
                }
                catch (Exception e)
                {
                    // Deterministic on every node; report instead of halting the state machine.
                    LogMessages.ApplyFailed(logger, e, entry.Index, i);
                    error = new MetadataException(MetadataErrorCode.InvalidArgument, $"Internal error applying the command: {e.Message}");
                }
                proposed?.Complete(i, result, error);
            }
        }
        return ValueTask.FromResult(entry.Index % snapshotEveryEntries == 0);
    }

    private static CommandBatch? Parse(in LogEntry entry)
    {
        if (entry.TryGetPayload(out var payload))
            return payload.IsEmpty ? null : CommandBatch.Parser.ParseFrom(payload);
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var segment in entry.GetPayload())
            buffer.Write(segment.Span);
        return buffer.WrittenCount == 0 ? null : CommandBatch.Parser.ParseFrom(buffer.WrittenSpan);
    }

    protected override async ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token)
    {
        byte[] bytes;
        lock (state.Sync)
            bytes = state.ToSnapshot().ToByteArray();
        await writer.WriteAsync(bytes, lengthFormat: null, token).ConfigureAwait(false);
    }

    protected override async ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token)
    {
        var bytes = await File.ReadAllBytesAsync(snapshotFile.FullName, token).ConfigureAwait(false);
        var snapshot = StateSnapshot.Parser.ParseFrom(bytes);
        lock (state.Sync)
            state.Restore(snapshot);
        LogMessages.Restored(logger, snapshotFile.Name, snapshot.Revision, snapshot.Kvs.Count);
    }
}
