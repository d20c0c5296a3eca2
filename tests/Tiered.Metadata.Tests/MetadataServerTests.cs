using System.Collections.Concurrent;
using System.Text;
using Google.Protobuf;
using Tiered.Metadata.V1;
using Xunit;

namespace Tiered.Metadata.Tests;

/// <summary>The metadata service end to end: a real node with its Raft log on disk, used through gRPC.</summary>
public sealed class MetadataServerTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Concurrent_compare_and_set_has_exactly_one_winner_per_version_and_loses_no_update(bool inProcess)
    {
        await using var fixture = await ServerFixture.StartAsync();
        var client = inProcess ? fixture.Server.Store : fixture.Client;
        await client.PutAsync("/counter", Encoding.UTF8.GetBytes("0"), expectedVersion: -1);
        const int Tasks = 16, IncrementsPerTask = 25;
        var winners = new ConcurrentDictionary<long, int>();
        var conflicts = 0;

        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            for (var done = 0; done < IncrementsPerTask;)
            {
                var current = (await client.GetAsync("/counter"))!;
                var next = long.Parse(current.Value.ToStringUtf8(), System.Globalization.CultureInfo.InvariantCulture) + 1;
                try
                {
                    var stored = await client.PutAsync("/counter", Encoding.UTF8.GetBytes(next.ToString(System.Globalization.CultureInfo.InvariantCulture)), expectedVersion: current.Version);
                    Assert.True(winners.TryAdd(stored.Version, t), $"version {stored.Version} was won twice");
                    done++;
                }
                catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
                {
                    Interlocked.Increment(ref conflicts);
                }
            }
        })));

        var final = (await client.GetAsync("/counter"))!;
        Assert.Equal(Tasks * IncrementsPerTask, long.Parse(final.Value.ToStringUtf8(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Tasks * IncrementsPerTask, final.Version);
        Assert.Equal(Enumerable.Range(1, Tasks * IncrementsPerTask).Select(v => (long)v), winners.Keys.Order());
        Assert.True(conflicts > 0, "the test never produced a conflicting compare-and-set");
    }

    [Fact]
    public async Task An_expired_session_loses_its_ephemeral_keys_and_watchers_see_them_go()
    {
        await using var fixture = await ServerFixture.StartAsync();
        var client = fixture.Client;
        using var cts = new CancellationTokenSource(Deadline);
        // From an explicit revision: a watch "from now" may be established only after the puts below.
        var start = (await client.PutAsync("/marker", "m"u8.ToArray())).ModRevision;
        var events = client.WatchAsync("/brokers/", start, cts.Token).GetAsyncEnumerator(cts.Token);
        var moving = events.MoveNextAsync();

        // Heartbeats until the keys are in place (a loaded machine may be slow to get there), then silence.
        var session = await client.CreateSessionAsync(TimeSpan.FromMilliseconds(1500));
        await client.KeepAliveAsync(session);
        await client.PutAsync("/brokers/b1", "b1"u8.ToArray(), sessionId: session);
        await client.KeepAliveAsync(session);
        await client.PutAsync("/brokers/permanent", "p"u8.ToArray());

        Assert.True(await moving);
        Assert.Equal(("/brokers/b1", WatchEvent.Types.Type.Put), (events.Current.Kv.Key, events.Current.Type));
        Assert.True(await events.MoveNextAsync());
        Assert.Equal("/brokers/permanent", events.Current.Kv.Key);

        // No heartbeats: the leader expires the session after its TTL.
        Assert.True(await events.MoveNextAsync());
        Assert.Equal(("/brokers/b1", WatchEvent.Types.Type.Delete, true), (events.Current.Kv.Key, events.Current.Type, events.Current.Expired));
        Assert.Null(await client.GetAsync("/brokers/b1"));
        Assert.NotNull(await client.GetAsync("/brokers/permanent"));
        var error = await Assert.ThrowsAsync<MetadataException>(async () => await client.KeepAliveAsync(session));
        Assert.Equal(MetadataErrorCode.SessionNotFound, error.Code);
        await cts.CancelAsync();
        await events.DisposeAsync();
    }

    [Fact]
    public async Task A_session_kept_alive_keeps_its_ephemeral_keys_past_several_ttls()
    {
        await using var fixture = await ServerFixture.StartAsync();
        var client = fixture.Client;
        var ttl = TimeSpan.FromMilliseconds(1500);
        var session = await MetadataSession.CreateAsync(client, ttl);
        await client.PutAsync("/live/b1", "b1"u8.ToArray(), sessionId: session.Id);
        var until = DateTime.UtcNow + 3 * ttl;
        while (DateTime.UtcNow < until)
        {
            Assert.NotNull(await client.GetAsync("/live/b1"));
            Assert.False(session.Lost.IsCancellationRequested);
            await Task.Delay(ttl / 5);
        }

        // Closing the session deletes its ephemeral keys at once.
        await session.DisposeAsync();
        Assert.Null(await client.GetAsync("/live/b1"));
    }

    [Fact]
    public async Task A_watch_delivers_every_change_once_in_order_and_resumes_from_a_revision()
    {
        await using var fixture = await ServerFixture.StartAsync();
        var client = fixture.Client;
        using var cts = new CancellationTokenSource(Deadline);
        var received = new List<WatchEvent>();
        var first = await client.PutAsync("/w/seed", "0"u8.ToArray());
        var watching = Task.Run(async () =>
        {
            await foreach (var e in client.WatchAsync("/w/", first.ModRevision, cts.Token))
            {
                received.Add(e);
                if (received.Count == 200)
                    break;
            }
        });
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                if (i % 10 == 9)
                    await client.DeleteAsync($"/w/{t}/{i - 1}");
                else
                    await client.PutAsync($"/w/{t}/{i}", Encoding.UTF8.GetBytes($"{t}-{i}"));
                await client.PutAsync("/other/noise", "x"u8.ToArray());
            }
        })));
        await watching.WaitAsync(Deadline);

        Assert.Equal(200, received.Count);
        Assert.All(received, e => Assert.StartsWith("/w/", e.Kv.Key, StringComparison.Ordinal));
        Assert.Equal(received.Select(e => e.Revision).Order(), received.Select(e => e.Revision));
        Assert.Equal(200, received.Select(e => e.Revision).Distinct().Count());
        Assert.Equal(20, received.Count(e => e.Type == WatchEvent.Types.Type.Delete));

        // Resume from the middle: exactly the events after that revision, again.
        var middle = received[99].Revision;
        var resumed = new List<WatchEvent>();
        await foreach (var e in client.WatchAsync("/w/", middle, cts.Token))
        {
            resumed.Add(e);
            if (resumed.Count == 100)
                break;
        }
        Assert.Equal(received.Skip(100).Select(e => (e.Revision, e.Kv.Key, e.Type)), resumed.Select(e => (e.Revision, e.Kv.Key, e.Type)));
    }

    [Fact]
    public async Task A_watcher_that_falls_far_behind_resumes_by_itself_and_misses_nothing()
    {
        await using var fixture = await ServerFixture.StartAsync();
        var client = fixture.Client;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var start = (await client.PutAsync("/slow/start", "0"u8.ToArray())).ModRevision;
        await using var events = client.WatchAsync("/slow/", start, cts.Token).GetAsyncEnumerator(cts.Token);

        // Far more changes than a watcher may buffer (10,000) while nobody reads the watch.
        const int Changes = 12_000;
        const int Batch = 500;
        for (var i = 0; i < Changes; i += Batch)
        {
            var txn = new TxnRequest();
            for (var j = i; j < i + Batch; j++)
                txn.Ops.Add(new TxnOp { Put = new PutRequest { Key = $"/slow/{j % 100}", Value = ByteString.CopyFromUtf8($"{j}") } });
            await client.TxnAsync(txn);
        }

        var expected = start + 1;
        for (var n = 0; n < Changes; n++)
        {
            Assert.True(await events.MoveNextAsync());
            Assert.Equal(expected++, events.Current.Revision);
            Assert.Equal(n.ToString(System.Globalization.CultureInfo.InvariantCulture), events.Current.Kv.Value.ToStringUtf8());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Bad_input_gets_a_clear_error_and_changes_nothing(bool inProcess)
    {
        await using var fixture = await ServerFixture.StartAsync();
        var client = inProcess ? fixture.Server.Store : fixture.Client;
        var original = await client.PutAsync("/tenants/t1", "v1"u8.ToArray());

        async Task Expect(MetadataErrorCode code, Func<Task> action)
        {
            var e = await Assert.ThrowsAsync<MetadataException>(action);
            Assert.Equal(code, e.Code);
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
        }

        await Expect(MetadataErrorCode.BadKey, async () => await client.PutAsync("tenants/t1", "x"u8.ToArray()));
        await Expect(MetadataErrorCode.BadKey, async () => await client.PutAsync("/tenants//t1", "x"u8.ToArray()));
        await Expect(MetadataErrorCode.ValueTooLarge, async () => await client.PutAsync("/tenants/t1", new byte[KeyPath.MaxValueBytes + 1]));
        await Expect(MetadataErrorCode.BadVersion, async () => await client.PutAsync("/tenants/t1", "x"u8.ToArray(), expectedVersion: 7));
        await Expect(MetadataErrorCode.BadVersion, async () => await client.PutAsync("/tenants/t1", "x"u8.ToArray(), expectedVersion: -1));
        await Expect(MetadataErrorCode.BadVersion, async () => await client.DeleteAsync("/tenants/t1", expectedVersion: 3));
        await Expect(MetadataErrorCode.SessionNotFound, async () => await client.PutAsync("/tenants/t1", "x"u8.ToArray(), sessionId: 424242));
        await Expect(MetadataErrorCode.SessionNotFound, async () => await client.KeepAliveAsync(424242));
        await Expect(MetadataErrorCode.InvalidArgument, async () => await client.CreateSessionAsync(TimeSpan.FromMilliseconds(1)));
        await Expect(MetadataErrorCode.InvalidArgument, async () => await client.NextIdAsync("ledgers", 0));
        await Expect(MetadataErrorCode.BadVersion, async () => await client.TxnAsync(new TxnRequest
        {
            Ops =
            {
                new TxnOp { Put = new PutRequest { Key = "/tenants/t2", Value = ByteString.CopyFromUtf8("new") } },
                new TxnOp { Check = new CheckRequest { Key = "/tenants/t1", ExpectedVersion = 5 } },
            },
        }));

        // Server-side validation too, for clients that skip the local checks (any gRPC stack).
        var raw = new V1.Metadata.MetadataClient(Grpc.Net.Client.GrpcChannel.ForAddress(fixture.Server.ClientAddress));
        var rpc = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await raw.PutAsync(new PutRequest { Key = "no-slash", Value = ByteString.CopyFromUtf8("x") }));
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, rpc.StatusCode);
        Assert.Equal("bad-key", rpc.Trailers.GetValue(MetadataWire.ErrorTrailer));

        var after = await client.GetAsync("/tenants/t1");
        Assert.Equal(original, after);
        Assert.Null(await client.GetAsync("/tenants/t2"));
    }

    [Fact]
    public async Task State_survives_a_restart_from_snapshot_plus_log()
    {
        // Snapshot every 10 Raft entries, so the restart restores a snapshot and replays the log after it.
        await using var fixture = await ServerFixture.StartAsync(snapshotEveryEntries: 10);
        var written = new Dictionary<string, long>();
        for (var i = 0; i < 57; i++)
            written[$"/persist/{i:D3}"] = (await fixture.Client.PutAsync($"/persist/{i:D3}", Encoding.UTF8.GetBytes($"v{i}"))).ModRevision;
        await fixture.Client.DeleteAsync("/persist/000");
        written.Remove("/persist/000");
        var id = await fixture.Client.NextIdAsync("ledgers", 10);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(fixture.DataDir, "snapshots"), "*", SearchOption.AllDirectories));

        await fixture.RestartAsync();

        var stored = await fixture.Client.ListAsync("/persist/");
        Assert.Equal(written.OrderBy(w => w.Key, StringComparer.Ordinal), stored.Select(kv => new KeyValuePair<string, long>(kv.Key, kv.ModRevision)));
        Assert.Equal(id + 10, await fixture.Client.NextIdAsync("ledgers"));
        var next = await fixture.Client.PutAsync("/persist/new", "n"u8.ToArray());
        Assert.True(next.ModRevision > written.Values.Max());
    }
}
