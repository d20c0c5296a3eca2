using Google.Protobuf;
using Tiered.Metadata.V1;

namespace Tiered.Metadata.Tests;

/// <summary>Builds the commands the Raft log carries, so a test reads as the operations it performs.</summary>
internal static class Commands
{
    public static Command Put(string key, string value = "", long? expectedVersion = null, long sessionId = 0) =>
        new() { Put = PutRequest(key, ByteString.CopyFromUtf8(value), expectedVersion, sessionId) };

    public static Command Put(string key, ByteString value, long? expectedVersion = null, long sessionId = 0) =>
        new() { Put = PutRequest(key, value, expectedVersion, sessionId) };

    public static Command Delete(string key, long? expectedVersion = null) =>
        new() { Delete = DeleteRequest(key, expectedVersion) };

    public static Command Txn(params TxnOp[] ops)
    {
        var txn = new TxnRequest();
        txn.Ops.AddRange(ops);
        return new Command { Txn = txn };
    }

    public static TxnOp PutOp(string key, string value = "", long? expectedVersion = null, long sessionId = 0) =>
        new() { Put = PutRequest(key, ByteString.CopyFromUtf8(value), expectedVersion, sessionId) };

    public static TxnOp DeleteOp(string key, long? expectedVersion = null) =>
        new() { Delete = DeleteRequest(key, expectedVersion) };

    public static TxnOp CheckOp(string key, long expectedVersion) =>
        new() { Check = new CheckRequest { Key = key, ExpectedVersion = expectedVersion } };

    public static Command CreateSession(long ttlMs) => new() { CreateSession = new CreateSessionRequest { TtlMs = ttlMs } };

    public static Command CloseSession(long sessionId) => new() { CloseSession = new CloseSessionRequest { SessionId = sessionId } };

    public static Command ExpireSession(long sessionId) => new() { ExpireSession = new CloseSessionRequest { SessionId = sessionId } };

    public static Command NextId(string name, int count) => new() { NextId = new NextIdRequest { Name = name, Count = count } };

    public static Command Barrier() => new() { Barrier = new StatusRequest() };

    private static PutRequest PutRequest(string key, ByteString value, long? expectedVersion, long sessionId)
    {
        var put = new PutRequest { Key = key, Value = value, SessionId = sessionId };
        if (expectedVersion is { } expected)
            put.ExpectedVersion = expected;
        return put;
    }

    private static DeleteRequest DeleteRequest(string key, long? expectedVersion)
    {
        var delete = new DeleteRequest { Key = key };
        if (expectedVersion is { } expected)
            delete.ExpectedVersion = expected;
        return delete;
    }
}
