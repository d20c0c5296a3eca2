using System.Threading.Channels;
using Google.Protobuf;
using Tiered.Metadata.State;
using Tiered.Metadata.V1;

namespace Tiered.Metadata.Tests;

/// <summary>Applies commands that must succeed, and asserts that rejected commands leave no trace.</summary>
internal static class MetadataStateExtensions
{
    public static T ApplyOk<T>(this MetadataState state, Command command, long proposedAtMs = 0) where T : IMessage =>
        Assert.IsType<T>(state.Apply(command, proposedAtMs));

    public static KeyValue Put(this MetadataState state, string key, string value = "", long? expectedVersion = null, long sessionId = 0) =>
        state.ApplyOk<PutResponse>(Commands.Put(key, value, expectedVersion, sessionId)).Kv;

    public static DeleteResponse Delete(this MetadataState state, string key, long? expectedVersion = null) =>
        state.ApplyOk<DeleteResponse>(Commands.Delete(key, expectedVersion));

    public static long CreateSession(this MetadataState state, long ttlMs = 10_000, long proposedAtMs = 0) =>
        state.ApplyOk<CreateSessionResponse>(Commands.CreateSession(ttlMs), proposedAtMs).SessionId;

    public static long NextId(this MetadataState state, string name, int count) =>
        state.ApplyOk<NextIdResponse>(Commands.NextId(name, count)).FirstId;

    public static string ValueOf(this MetadataState state, string key) =>
        state.Get(key) is { } kv ? kv.Value.ToStringUtf8() : throw new Xunit.Sdk.XunitException($"Key '{key}' does not exist.");

    /// <summary>
    /// Applies <paramref name="command"/>, expects it to fail with <paramref name="expected"/>, and checks
    /// that it changed nothing: same snapshot bytes, same revision, no watch event.
    /// </summary>
    public static MetadataException AssertRejected(this MetadataState state, Command command, MetadataErrorCode expected)
    {
        var before = state.ToSnapshot().ToByteArray();
        var revision = state.Revision;
        using var stop = new CancellationTokenSource();
        var events = state.Watches.Subscribe("/", 0, state.Revision, stop.Token);

        var error = Assert.Throws<MetadataException>(() => state.Apply(command, 0));

        Assert.Equal(expected, error.Code);
        Assert.Equal(revision, state.Revision);
        Assert.Equal(before, state.ToSnapshot().ToByteArray());
        Assert.False(events.TryRead(out var published), $"A rejected command published {published}.");
        stop.Cancel();
        return error;
    }

    /// <summary>Everything already delivered to <paramref name="reader"/>; events are published synchronously, so nothing is in flight.</summary>
    public static List<WatchEvent> Drain(this ChannelReader<WatchEvent> reader)
    {
        var events = new List<WatchEvent>();
        while (reader.TryRead(out var e))
            events.Add(e);
        return events;
    }
}
