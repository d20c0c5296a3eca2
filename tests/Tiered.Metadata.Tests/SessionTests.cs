using Tiered.Metadata.State;
using Tiered.Metadata.V1;
using static Tiered.Metadata.Tests.Commands;

namespace Tiered.Metadata.Tests;

public sealed class SessionTests
{
    private readonly MetadataState _state = new();

    [Fact]
    public void A_session_gets_the_next_id_and_remembers_its_ttl_and_the_proposal_time()
    {
        var first = _state.ApplyOk<CreateSessionResponse>(CreateSession(MetadataState.MinTtlMs), proposedAtMs: 1_000);
        var second = _state.ApplyOk<CreateSessionResponse>(CreateSession(MetadataState.MaxTtlMs), proposedAtMs: 2_000);

        Assert.Equal((1L, MetadataState.MinTtlMs), (first.SessionId, first.TtlMs));
        Assert.Equal((2L, MetadataState.MaxTtlMs), (second.SessionId, second.TtlMs));
        Assert.True(_state.TryGetSession(2, out var ttlMs, out var createdAtMs));
        Assert.Equal((MetadataState.MaxTtlMs, 2_000L), (ttlMs, createdAtMs));
        Assert.Equal([1L, 2L], _state.SessionIds.Order());
        Assert.Equal(0, _state.Revision);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(499)]
    [InlineData(3_600_001)]
    public void A_session_ttl_outside_half_a_second_to_an_hour_is_an_invalid_argument(long ttlMs)
    {
        _state.AssertRejected(CreateSession(ttlMs), MetadataErrorCode.InvalidArgument);

        Assert.Empty(_state.SessionIds);
        Assert.Equal(1, _state.CreateSession());
    }

    [Fact]
    public void An_ephemeral_put_requires_an_existing_session()
    {
        _state.AssertRejected(Put("/e", sessionId: 1), MetadataErrorCode.SessionNotFound);
        var session = _state.CreateSession();

        var kv = _state.Put("/e", sessionId: session);

        Assert.Equal(session, kv.SessionId);
        _state.AssertRejected(Put("/f", sessionId: session + 1), MetadataErrorCode.SessionNotFound);
    }

    [Fact]
    public void An_ephemeral_put_into_a_closed_session_fails_with_session_not_found()
    {
        var session = _state.CreateSession();
        _state.ApplyOk<CloseSessionResponse>(CloseSession(session));

        _state.AssertRejected(Put("/e", sessionId: session), MetadataErrorCode.SessionNotFound);
    }

    [Fact]
    public void Expiring_a_session_deletes_exactly_its_ephemeral_keys_with_expired_delete_events()
    {
        var expiring = _state.CreateSession();
        var other = _state.CreateSession();
        _state.Put("/e/2", "mine", sessionId: expiring);
        _state.Put("/e/1", "mine", sessionId: expiring);
        _state.Put("/e/3", "other", sessionId: other);
        _state.Put("/p", "persistent");
        var revision = _state.Revision;
        using var stop = new CancellationTokenSource();
        var events = _state.Watches.Subscribe("/", 0, revision, stop.Token);

        _state.ApplyOk<CloseSessionResponse>(ExpireSession(expiring));

        var deletes = events.Drain();
        Assert.Equal(["/e/1", "/e/2"], deletes.Select(e => e.Kv.Key));
        Assert.All(deletes, e =>
        {
            Assert.Equal(WatchEvent.Types.Type.Delete, e.Type);
            Assert.True(e.Expired);
            Assert.Equal(expiring, e.Kv.SessionId);
            Assert.Equal(e.Revision, e.Kv.ModRevision);
        });
        Assert.Equal([revision + 1, revision + 2], deletes.Select(e => e.Revision));
        Assert.Equal(revision + 2, _state.Revision);
        Assert.Null(_state.Get("/e/1"));
        Assert.Null(_state.Get("/e/2"));
        Assert.Equal("other", _state.ValueOf("/e/3"));
        Assert.Equal("persistent", _state.ValueOf("/p"));
        Assert.False(_state.TryGetSession(expiring, out _, out _));
        Assert.True(_state.TryGetSession(other, out _, out _));
    }

    [Fact]
    public void Closing_a_session_deletes_its_ephemeral_keys_with_events_not_marked_expired()
    {
        var session = _state.CreateSession();
        _state.Put("/e/1", sessionId: session);
        _state.Put("/p");
        using var stop = new CancellationTokenSource();
        var events = _state.Watches.Subscribe("/", 0, _state.Revision, stop.Token);

        _state.ApplyOk<CloseSessionResponse>(CloseSession(session));

        var delete = Assert.Single(events.Drain());
        Assert.Equal((WatchEvent.Types.Type.Delete, "/e/1", false), (delete.Type, delete.Kv.Key, delete.Expired));
        Assert.NotNull(_state.Get("/p"));
        Assert.Empty(_state.SessionIds);
    }

    [Fact]
    public void Closing_or_expiring_an_unknown_or_already_closed_session_fails_with_session_not_found()
    {
        var session = _state.CreateSession();
        _state.Put("/e", sessionId: session);
        _state.ApplyOk<CloseSessionResponse>(CloseSession(session));

        _state.AssertRejected(CloseSession(session), MetadataErrorCode.SessionNotFound);
        _state.AssertRejected(ExpireSession(session), MetadataErrorCode.SessionNotFound);
        _state.AssertRejected(ExpireSession(99), MetadataErrorCode.SessionNotFound);
    }

    [Fact]
    public void A_key_put_again_without_a_session_is_no_longer_deleted_when_the_session_expires()
    {
        var session = _state.CreateSession();
        _state.Put("/e", "ephemeral", sessionId: session);
        _state.Put("/e", "persistent now");
        var revision = _state.Revision;

        _state.ApplyOk<CloseSessionResponse>(ExpireSession(session));

        Assert.Equal("persistent now", _state.ValueOf("/e"));
        Assert.Equal(0, _state.Get("/e")!.SessionId);
        Assert.Equal(revision, _state.Revision);
    }

    [Fact]
    public void A_key_put_again_by_another_session_is_deleted_only_with_that_session()
    {
        var first = _state.CreateSession();
        var second = _state.CreateSession();
        _state.Put("/e", sessionId: first);
        _state.Put("/e", sessionId: second);

        _state.ApplyOk<CloseSessionResponse>(ExpireSession(first));
        Assert.Equal(second, _state.Get("/e")!.SessionId);

        _state.ApplyOk<CloseSessionResponse>(ExpireSession(second));
        Assert.Null(_state.Get("/e"));
    }

    [Fact]
    public void A_session_survives_the_deletion_of_its_ephemeral_keys_and_expires_cleanly_afterwards()
    {
        var session = _state.CreateSession();
        _state.Put("/e/1", sessionId: session);
        _state.Put("/e/2", sessionId: session);
        _state.Delete("/e/1");
        _state.ApplyOk<TxnResponse>(Txn(DeleteOp("/e/2")));
        var revision = _state.Revision;

        _state.ApplyOk<CloseSessionResponse>(ExpireSession(session));

        Assert.Equal(revision, _state.Revision);
        Assert.Empty(_state.SessionIds);
    }

    [Fact]
    public void An_ephemeral_key_updated_by_its_own_session_is_deleted_once_on_expiry()
    {
        var session = _state.CreateSession();
        _state.Put("/e", "v0", sessionId: session);
        _state.Put("/e", "v1", sessionId: session);
        using var stop = new CancellationTokenSource();
        var events = _state.Watches.Subscribe("/", 0, _state.Revision, stop.Token);

        _state.ApplyOk<CloseSessionResponse>(ExpireSession(session));

        Assert.Equal("/e", Assert.Single(events.Drain()).Kv.Key);
        Assert.Null(_state.Get("/e"));
    }
}
