using Google.Protobuf;
using Tiered.Metadata.V1;
using static Tiered.Metadata.Tests.Commands;

namespace Tiered.Metadata.Tests;

/// <summary>
/// A seeded stream of commands over a small key space, so that versions collide, sessions own and
/// lose keys, and a good share of commands is rejected (bad versions, unknown sessions, bad arguments).
/// </summary>
internal sealed class RandomCommands(int seed)
{
    private readonly string[] _keys =
        ["/k/a", "/k/a/1", "/k/a/2", "/k/a-x", "/k/b", "/k/b/1", "/k/b/1/x", "/k/c", "/l/a", "/l/b", "/l/b/1", "/m"];

    private readonly Random _random = new(seed);
    private int _sessionsRequested;

    public IEnumerable<Command> Take(int count)
    {
        for (var i = 0; i < count; i++)
            yield return Next();
    }

    private Command Next() => _random.Next(100) switch
    {
        < 35 => new Command { Put = RandomPut() },
        < 50 => new Command { Delete = RandomDelete() },
        < 65 => RandomTxn(),
        < 73 => RandomCreateSession(),
        < 79 => CloseSession(AnySession()),
        < 85 => ExpireSession(AnySession()),
        < 95 => NextId(_random.Next(3) switch { 0 => "ledger", 1 => "topic", _ => "" }, _random.Next(10) == 0 ? 100_001 : _random.Next(0, 6)),
        _ => Barrier(),
    };

    private Command RandomCreateSession()
    {
        _sessionsRequested++;
        return CreateSession(_random.Next(10) == 0 ? 100 : _random.Next(500, 60_000));
    }

    private Command RandomTxn()
    {
        var txn = new TxnRequest();
        var ops = _random.Next(20) == 0 ? 0 : _random.Next(1, 5);
        for (var i = 0; i < ops; i++)
        {
            txn.Ops.Add(_random.Next(3) switch
            {
                0 => new TxnOp { Put = RandomPut() },
                1 => new TxnOp { Delete = RandomDelete() },
                _ => new TxnOp { Check = new CheckRequest { Key = AnyKey(), ExpectedVersion = _random.Next(-1, 3) } },
            });
        }
        return new Command { Txn = txn };
    }

    private PutRequest RandomPut()
    {
        var put = new PutRequest { Key = _random.Next(50) == 0 ? "/k/bad/" : AnyKey(), Value = RandomValue() };
        if (_random.Next(2) == 0)
            put.ExpectedVersion = _random.Next(-1, 3);
        if (_random.Next(4) == 0)
            put.SessionId = AnySession();
        return put;
    }

    private DeleteRequest RandomDelete()
    {
        var delete = new DeleteRequest { Key = AnyKey() };
        if (_random.Next(3) == 0)
            delete.ExpectedVersion = _random.Next(-1, 3);
        return delete;
    }

    private ByteString RandomValue()
    {
        var bytes = new byte[_random.Next(0, 16)];
        _random.NextBytes(bytes);
        return ByteString.CopyFrom(bytes);
    }

    private string AnyKey() => _keys[_random.Next(_keys.Length)];

    // Mostly one of the latest sessions (likely still open); sometimes any id up to one that never existed.
    private long AnySession() => _random.Next(4) == 0
        ? _random.Next(1, _sessionsRequested + 2)
        : Math.Max(1, _sessionsRequested - _random.Next(3));
}
