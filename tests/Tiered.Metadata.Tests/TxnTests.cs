using Tiered.Metadata.State;
using Tiered.Metadata.V1;
using static Tiered.Metadata.Tests.Commands;

namespace Tiered.Metadata.Tests;

public sealed class TxnTests
{
    private readonly MetadataState _state = new();

    [Theory]
    [InlineData("check of a missing key", MetadataErrorCode.BadVersion)]
    [InlineData("put with a stale version", MetadataErrorCode.BadVersion)]
    [InlineData("delete with a stale version", MetadataErrorCode.BadVersion)]
    [InlineData("put of a bad key", MetadataErrorCode.BadKey)]
    [InlineData("put into an unknown session", MetadataErrorCode.SessionNotFound)]
    [InlineData("operation without a kind", MetadataErrorCode.InvalidArgument)]
    public void A_transaction_whose_third_operation_fails_applies_nothing(string thirdOperation, MetadataErrorCode expected)
    {
        _state.Put("/a", "a0");
        _state.Put("/b", "b0");
        var third = thirdOperation switch
        {
            "check of a missing key" => CheckOp("/c", 0),
            "put with a stale version" => PutOp("/b", "b1", expectedVersion: 5),
            "delete with a stale version" => DeleteOp("/a", 3),
            "put of a bad key" => PutOp("/c/", "c0"),
            "put into an unknown session" => PutOp("/c", "c0", sessionId: 42),
            _ => new TxnOp(),
        };

        var error = _state.AssertRejected(Txn(PutOp("/a", "a1"), DeleteOp("/b"), third, PutOp("/d", "d0")), expected);

        Assert.Contains("operation 2", error.Message, StringComparison.Ordinal);
        Assert.Equal("a0", _state.ValueOf("/a"));
        Assert.Equal("b0", _state.ValueOf("/b"));
        Assert.Null(_state.Get("/d"));
        Assert.Equal(2, _state.Revision);
    }

    [Fact]
    public void A_successful_transaction_applies_its_puts_and_deletes_in_order()
    {
        _state.Put("/x", "x0");
        _state.Put("/y", "y0");
        using var stop = new CancellationTokenSource();
        var events = _state.Watches.Subscribe("/", 0, _state.Revision, stop.Token);

        var response = _state.ApplyOk<TxnResponse>(Txn(
            PutOp("/a", "first", expectedVersion: -1),
            PutOp("/a", "second"),
            DeleteOp("/x", 0),
            PutOp("/x", "recreated"),
            CheckOp("/y", 0),
            DeleteOp("/missing")));

        Assert.Equal(6, response.Results.Count);
        Assert.Equal((0L, 3L, 3L), (response.Results[0].Kv.Version, response.Results[0].Kv.CreateRevision, response.Results[0].Kv.ModRevision));
        Assert.Equal((1L, 3L, 4L), (response.Results[1].Kv.Version, response.Results[1].Kv.CreateRevision, response.Results[1].Kv.ModRevision));
        Assert.True(response.Results[2].Deleted);
        Assert.Equal((0L, 6L, 6L), (response.Results[3].Kv.Version, response.Results[3].Kv.CreateRevision, response.Results[3].Kv.ModRevision));
        Assert.Equal(new TxnOpResult(), response.Results[4]);
        Assert.False(response.Results[5].Deleted);
        Assert.Equal(6, response.Revision);
        Assert.Equal(6, _state.Revision);
        Assert.Equal("second", _state.ValueOf("/a"));
        Assert.Equal("recreated", _state.ValueOf("/x"));
        Assert.Equal(0, _state.Get("/x")!.Version);
        Assert.Equal(
            ["PUT /a 3", "PUT /a 4", "DELETE /x 5", "PUT /x 6"],
            events.Drain().Select(e => $"{(e.Type == WatchEvent.Types.Type.Put ? "PUT" : "DELETE")} {e.Kv.Key} {e.Revision}"));
    }

    [Fact]
    public void Checks_see_the_effect_of_earlier_operations_in_the_same_transaction()
    {
        _state.Put("/b", "b0");

        _state.ApplyOk<TxnResponse>(Txn(
            PutOp("/a", "a0", expectedVersion: -1),
            CheckOp("/a", 0),
            PutOp("/a", "a1", expectedVersion: 0),
            CheckOp("/a", 1),
            DeleteOp("/b", 0),
            CheckOp("/b", -1),
            PutOp("/b", "b-again", expectedVersion: -1),
            CheckOp("/b", 0)));

        Assert.Equal("a1", _state.ValueOf("/a"));
        Assert.Equal(1, _state.Get("/a")!.Version);
        Assert.Equal("b-again", _state.ValueOf("/b"));
        Assert.Equal(0, _state.Get("/b")!.Version);
    }

    [Fact]
    public void A_check_that_ignores_an_earlier_put_of_the_same_transaction_fails()
    {
        _state.AssertRejected(Txn(PutOp("/a", "a0", expectedVersion: -1), CheckOp("/a", -1)), MetadataErrorCode.BadVersion);

        Assert.Null(_state.Get("/a"));
    }

    [Fact]
    public void A_delete_of_a_key_deleted_earlier_in_the_transaction_fails_its_version_check()
    {
        _state.Put("/a");

        _state.AssertRejected(Txn(DeleteOp("/a", 0), DeleteOp("/a", 0)), MetadataErrorCode.BadVersion);

        Assert.NotNull(_state.Get("/a"));
    }

    [Fact]
    public void An_empty_transaction_is_an_invalid_argument() =>
        _state.AssertRejected(Txn(), MetadataErrorCode.InvalidArgument);

    [Fact]
    public void A_transaction_may_have_1024_operations_but_not_1025()
    {
        var ops = Enumerable.Range(0, MetadataState.MaxTxnOps + 1).Select(i => PutOp($"/k/{i}")).ToArray();

        _state.AssertRejected(Txn(ops), MetadataErrorCode.InvalidArgument);
        _state.ApplyOk<TxnResponse>(Txn(ops[..MetadataState.MaxTxnOps]));

        Assert.Equal(MetadataState.MaxTxnOps, _state.KeyCount);
    }

    [Fact]
    public void An_ephemeral_put_in_a_transaction_belongs_to_its_session()
    {
        var session = _state.CreateSession();

        _state.ApplyOk<TxnResponse>(Txn(PutOp("/e", sessionId: session), PutOp("/p")));
        _state.ApplyOk<CloseSessionResponse>(ExpireSession(session));

        Assert.Null(_state.Get("/e"));
        Assert.NotNull(_state.Get("/p"));
    }
}
