using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie.V1;
using Tiered.Ledger;
using Tiered.Testing;

namespace Tiered.Bookie.Tests;

/// <summary>A real bookie (in-process, gRPC on 127.0.0.1) registered in a real metadata service.</summary>
public sealed class BookieServiceTests
{
    /// <summary>A metadata service and one bookie registered in it, with a gRPC client to the bookie.</summary>
    private sealed class OneBookie : IAsyncDisposable
    {
        private LocalMetadata _metadata = null!;
        private BookieServer _bookie = null!;
        private GrpcChannel _channel = null!;

        public Tiered.Metadata.IMetadataStore MetadataStore => _metadata.Store;
        public string Id { get; private set; } = "";
        public V1.Bookie.BookieClient Client { get; private set; } = null!;

        public static async Task<OneBookie> StartAsync()
        {
            var one = new OneBookie { _metadata = await LocalMetadata.StartAsync() };
            one.Id = $"127.0.0.1:{LocalMetadata.FreePort()}";
            one._bookie = await BookieServer.StartAsync(new BookieOptions { Listen = one.Id, DataDir = Path.Combine(one._metadata.Root, "bookie") }, NullLoggerFactory.Instance, one._metadata.Store);
            one._channel = GrpcChannel.ForAddress($"http://{one.Id}", new GrpcChannelOptions { MaxSendMessageSize = 16 * 1024 * 1024, MaxReceiveMessageSize = 16 * 1024 * 1024 });
            one.Client = new V1.Bookie.BookieClient(one._channel);
            return one;
        }

        public async ValueTask DisposeAsync()
        {
            _channel.Dispose();
            await _bookie.DisposeAsync();
            await _metadata.DisposeAsync();
        }
    }

    private static AddRequest Add(long ledger, long entry, byte[] payload, uint? digest = null) => new()
    {
        LedgerId = ledger,
        EntryId = entry,
        LastAddConfirmed = entry - 1,
        Payload = ByteString.CopyFrom(payload),
        Digest = digest ?? LedgerDigest.Compute(ledger, entry, entry - 1, payload),
    };

    private static async Task<List<AddResponse>> AddAllAsync(V1.Bookie.BookieClient client, params AddRequest[] requests)
    {
        using var call = client.AddEntries();
        foreach (var request in requests)
            await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        var responses = new List<AddResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
            responses.Add(call.ResponseStream.Current);
        return responses;
    }

    [Fact]
    public async Task Bad_adds_get_a_clear_code_and_store_nothing_while_good_ones_are_acknowledged()
    {
        await using var bookie = await OneBookie.StartAsync();
        var (client, listen) = (bookie.Client, bookie.Id);

        var responses = await AddAllAsync(client,
            Add(1, 0, [1, 2, 3]),
            Add(1, 1, []),
            Add(1, 2, new byte[5 * 1024 * 1024 + 1]),
            Add(-1, 0, [1]),
            Add(1, -5, [1]),
            Add(1, 3, [9, 9], digest: 12345),
            Add(1, 4, [4]));
        var codes = responses.ToDictionary(r => r.EntryId == -5 ? -5 : r.LedgerId < 0 ? -100 : r.EntryId, r => r.Code);
        Assert.Equal(Code.Ok, codes[0]);
        Assert.Equal(Code.InvalidArgument, codes[1]);
        Assert.Equal(Code.InvalidArgument, codes[2]);
        Assert.Equal(Code.InvalidArgument, codes[-100]);
        Assert.Equal(Code.InvalidArgument, codes[-5]);
        Assert.Equal(Code.BadDigest, codes[3]);
        Assert.Equal(Code.Ok, codes[4]);
        Assert.All(responses.Where(r => r.Code != Code.Ok), r => Assert.False(string.IsNullOrWhiteSpace(r.Message)));

        foreach (var missing in new long[] { 1, 2, 3 })
            Assert.Equal(Code.NoSuchEntry, (await client.ReadEntryAsync(new ReadRequest { LedgerId = 1, EntryId = missing })).Code);
        Assert.Equal(Code.NoSuchLedger, (await client.ReadEntryAsync(new ReadRequest { LedgerId = 99, EntryId = 0 })).Code);
        Assert.Equal(Code.InvalidArgument, (await client.ReadEntryAsync(new ReadRequest { LedgerId = 1, EntryId = -1 })).Code);
        var good = await client.ReadEntryAsync(new ReadRequest { LedgerId = 1, EntryId = 0 });
        Assert.Equal(Code.Ok, good.Code);
        Assert.Equal([1, 2, 3], good.Payload.ToByteArray());
        Assert.Equal("writable", (await client.InfoAsync(new InfoRequest())).State);

        // The largest entry allowed is stored and read back.
        var largest = new byte[5 * 1024 * 1024];
        Random.Shared.NextBytes(largest);
        Assert.Equal(Code.Ok, (await AddAllAsync(client, Add(2, 0, largest)))[0].Code);
        Assert.Equal(largest, (await client.ReadEntryAsync(new ReadRequest { LedgerId = 2, EntryId = 0 })).Payload.ToByteArray());
        Assert.Equal([listen], await bookie.MetadataStore.ListChildrenAsync("/bookies/available"));
    }

    [Fact]
    public async Task Entry_lengths_lists_the_entries_it_stores_skipping_absent_ones_and_refuses_bad_ranges()
    {
        await using var bookie = await OneBookie.StartAsync();
        var client = bookie.Client;
        // Entries 0–9 of ledger 7 but not 4 (striped onto other bookies), entry i holding i + 1 bytes.
        var stored = Enumerable.Range(0, 10).Where(i => i != 4).ToArray();
        Assert.All(await AddAllAsync(client, [.. stored.Select(i => Add(7, i, new byte[i + 1]))]), r => Assert.Equal(Code.Ok, r.Code));

        var chunks = await LengthsAsync(7, 0, 12);
        Assert.All(chunks, c => Assert.Equal(Code.Ok, c.Code));
        Assert.Equal(stored.Select(i => (long)i), chunks.SelectMany(c => c.EntryIds));
        Assert.Equal(stored.Select(i => i + 1), chunks.SelectMany(c => c.Lengths));
        Assert.Equal([5L, 6L], (await LengthsAsync(7, 4, 6)).SelectMany(c => c.EntryIds));

        Assert.Equal(Code.NoSuchLedger, Assert.Single(await LengthsAsync(8, 0, 3)).Code);
        Assert.Equal(Code.InvalidArgument, Assert.Single(await LengthsAsync(7, 5, 2)).Code);
        Assert.Equal(Code.InvalidArgument, Assert.Single(await LengthsAsync(7, -1, 2)).Code);

        async Task<List<EntryLengthsResponse>> LengthsAsync(long ledger, long first, long last)
        {
            using var call = client.EntryLengths(new EntryLengthsRequest { LedgerId = ledger, FirstEntryId = first, LastEntryId = last });
            var chunks = new List<EntryLengthsResponse>();
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
                chunks.Add(call.ResponseStream.Current);
            return chunks;
        }
    }

    [Fact]
    public async Task After_a_fence_the_writer_is_refused_a_recovery_write_is_not_and_a_fencing_read_fences()
    {
        await using var bookie = await OneBookie.StartAsync();
        var client = bookie.Client;

        Assert.All(await AddAllAsync(client, Add(5, 0, [0]), Add(5, 1, [1])), r => Assert.Equal(Code.Ok, r.Code));
        var fence = await client.FenceAsync(new FenceRequest { LedgerId = 5 });
        Assert.Equal((Code.Ok, 0L, 1L), (fence.Code, fence.LastAddConfirmed, fence.LastEntryId));
        Assert.Equal(Code.Fenced, (await AddAllAsync(client, Add(5, 2, [2])))[0].Code);
        var recovery = Add(5, 2, [2]);
        recovery.Recovery = true;
        Assert.Equal(Code.Ok, (await AddAllAsync(client, recovery))[0].Code);

        Assert.Equal(Code.Ok, (await AddAllAsync(client, Add(6, 0, [0])))[0].Code);
        var fencingRead = await client.ReadEntryAsync(new ReadRequest { LedgerId = 6, EntryId = 0, Fence = true });
        Assert.Equal(Code.Ok, fencingRead.Code);
        Assert.Equal(Code.Fenced, (await AddAllAsync(client, Add(6, 1, [1])))[0].Code);
    }
}
