using Google.Protobuf;
using Tiered.Metadata.State;
using Tiered.Metadata.V1;
using static Tiered.Metadata.Tests.Commands;

namespace Tiered.Metadata.Tests;

public sealed class SnapshotTests
{
    private readonly MetadataState _original = new();
    private readonly long _expiring;
    private readonly long _surviving;

    public SnapshotTests()
    {
        _original.Put("/p/1", "one");
        _original.Put("/p/1", "one'");
        _original.Put("/p/2", "two");
        _original.Put("/p/gone");
        _original.Delete("/p/gone");
        _expiring = _original.CreateSession(ttlMs: 2_000, proposedAtMs: 1_000);
        _surviving = _original.CreateSession(ttlMs: 30_000, proposedAtMs: 2_000);
        var closed = _original.CreateSession();
        _original.ApplyOk<CloseSessionResponse>(CloseSession(closed));
        _original.Put("/e/1", "x", sessionId: _expiring);
        _original.Put("/e/2", "y", sessionId: _expiring);
        _original.Put("/e/3", "z", sessionId: _surviving);
        _original.Put("/e/1", "x'", sessionId: _expiring);
        _original.NextId("ledger", 41);
        _original.NextId("topic", 3);
    }

    [Fact]
    public void Restoring_a_serialized_snapshot_into_a_fresh_state_reproduces_keys_sessions_and_counters()
    {
        var restored = RestoreFresh();

        Assert.Equal(_original.ToSnapshot(), restored.ToSnapshot());
        Assert.Equal(_original.ToSnapshot().ToByteArray(), restored.ToSnapshot().ToByteArray());
        Assert.Equal(_original.Revision, restored.Revision);
        Assert.Equal(_original.KeyCount, restored.KeyCount);
        Assert.Equal(_original.Range("/"), restored.Range("/"));
        Assert.Equal(_original.Children("/"), restored.Children("/"));
        Assert.Equal(_original.Children("/e"), restored.Children("/e"));
        Assert.Equal(1, restored.Get("/p/1")!.Version);
        Assert.Null(restored.Get("/p/gone"));
        Assert.Equal(_expiring, restored.Get("/e/1")!.SessionId);
        Assert.Equal(_original.SessionIds.Order(), restored.SessionIds.Order());
        Assert.True(restored.TryGetSession(_expiring, out var ttlMs, out var createdAtMs));
        Assert.Equal((2_000L, 1_000L), (ttlMs, createdAtMs));
        Assert.True(restored.TryGetSession(_surviving, out ttlMs, out createdAtMs));
        Assert.Equal((30_000L, 2_000L), (ttlMs, createdAtMs));
    }

    [Fact]
    public void After_restore_the_next_change_takes_the_next_revision()
    {
        var restored = RestoreFresh();
        var revision = _original.Revision;

        var created = restored.Put("/p/3");
        var updated = restored.Put("/p/1", "one''", expectedVersion: 1);

        Assert.Equal((0L, revision + 1, revision + 1), (created.Version, created.CreateRevision, created.ModRevision));
        Assert.Equal((2L, _original.Get("/p/1")!.CreateRevision, revision + 2), (updated.Version, updated.CreateRevision, updated.ModRevision));
        Assert.Equal(revision + 2, restored.Revision);
    }

    [Fact]
    public void After_restore_expiring_a_session_deletes_exactly_its_ephemeral_keys()
    {
        var restored = RestoreFresh();

        restored.ApplyOk<CloseSessionResponse>(ExpireSession(_expiring));

        Assert.Null(restored.Get("/e/1"));
        Assert.Null(restored.Get("/e/2"));
        Assert.Equal("z", restored.ValueOf("/e/3"));
        Assert.Equal(_original.Revision + 2, restored.Revision);
        restored.ApplyOk<CloseSessionResponse>(CloseSession(_surviving));
        Assert.Equal(["/p/1", "/p/2"], restored.Range("/").Select(kv => kv.Key));
    }

    [Fact]
    public void After_restore_counters_and_session_ids_continue_without_repeating()
    {
        var restored = RestoreFresh();

        Assert.Equal(42, restored.NextId("ledger", 1));
        Assert.Equal(4, restored.NextId("topic", 1));
        Assert.Equal(1, restored.NextId("new", 1));
        Assert.Equal(4, restored.CreateSession()); // 1 to 3 were issued before the snapshot, 3 was closed
        Assert.Equal(5, restored.CreateSession());
    }

    [Fact]
    public void After_restore_a_watch_cannot_start_before_the_snapshot_revision()
    {
        var restored = RestoreFresh();
        using var stop = new CancellationTokenSource();

        var error = Assert.Throws<MetadataException>(() => restored.Watches.Subscribe("/", restored.Revision - 1, restored.Revision, stop.Token));
        var events = restored.Watches.Subscribe("/", restored.Revision, restored.Revision, stop.Token);
        restored.Put("/p/3");

        Assert.Equal(MetadataErrorCode.Compacted, error.Code);
        Assert.Equal(restored.Revision, Assert.Single(events.Drain()).Revision);
    }

    [Fact]
    public async Task A_live_watch_is_ended_with_compacted_when_a_snapshot_replaces_the_state()
    {
        // A lagging replica that installs a snapshot jumps over revisions its watchers never saw.
        var lagging = new MetadataState();
        lagging.Put("/p/1", "one");
        using var stop = new CancellationTokenSource();
        var events = lagging.Watches.Subscribe("/", lagging.Revision, lagging.Revision, stop.Token);

        lagging.Restore(StateSnapshot.Parser.ParseFrom(_original.ToSnapshot().ToByteArray()));
        lagging.Put("/p/3");

        var delivered = events.Drain();
        Assert.True(delivered.Count == 0, $"The watcher silently skipped revisions 2..{_original.Revision} and received revision {delivered.FirstOrDefault()?.Revision}.");
        var error = await Assert.ThrowsAsync<MetadataException>(() => events.Completion.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(MetadataErrorCode.Compacted, error.Code);
    }

    [Fact]
    public void Restore_replaces_everything_the_state_held_before()
    {
        var target = new MetadataState();
        var oldSession = target.CreateSession();
        target.CreateSession();
        target.CreateSession();
        target.CreateSession();
        target.Put("/old", sessionId: oldSession);
        target.Put("/p/1", "stale");
        target.NextId("ledger", 1_000);

        target.Restore(StateSnapshot.Parser.ParseFrom(_original.ToSnapshot().ToByteArray()));

        Assert.Equal(_original.ToSnapshot(), target.ToSnapshot());
        Assert.Null(target.Get("/old"));
        Assert.Equal("one'", target.ValueOf("/p/1"));
        Assert.False(target.TryGetSession(4, out _, out _));
        Assert.Equal(42, target.NextId("ledger", 1));
    }

    private MetadataState RestoreFresh()
    {
        var restored = new MetadataState();
        restored.Restore(StateSnapshot.Parser.ParseFrom(_original.ToSnapshot().ToByteArray()));
        return restored;
    }
}
