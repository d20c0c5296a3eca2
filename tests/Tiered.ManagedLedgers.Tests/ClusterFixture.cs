using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Ledger;
using Tiered.ManagedLedgers.Stored;
using Tiered.Metadata;
using Tiered.Offloader;
using Tiered.Testing;

namespace Tiered.ManagedLedgers.Tests;

/// <summary>One real metadata service and three bookies shared by the managed ledger tests; each test uses its own managed ledger names.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private BookieCluster? _cluster;

    public BookieCluster Cluster => _cluster!;

    public IMetadataStore Metadata => Cluster.Metadata;

    public async Task InitializeAsync() => _cluster = await BookieCluster.StartAsync(3);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
            await _cluster.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "bookies";
}

/// <summary>Helpers of the managed ledger tests.</summary>
public abstract class ManagedLedgerTestBase(ClusterFixture fixture)
{
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    protected ClusterFixture Fixture { get; } = fixture;

    protected IMetadataStore Metadata => Fixture.Metadata;

    protected static ManagedLedgerOptions Small(int entriesPerLedger = 1000) => new()
    {
        EnsembleSize = 3,
        WriteQuorum = 2,
        AckQuorum = 2,
        MaxEntriesPerLedger = entriesPerLedger,
    };

    protected static string NewName() => $"public/default/persistent/t-{Guid.NewGuid():N}";

    protected LedgerClient NewClient() => new(Metadata);

    protected Task<ManagedLedger> OpenAsync(string name, LedgerClient client, ManagedLedgerOptions? options = null, bool createIfMissing = true, TieredStorage? tieredStorage = null, TimeProvider? time = null)
        => ManagedLedger.OpenAsync(name, client, Metadata, options ?? Small(), NullLoggerFactory.Instance, createIfMissing, tieredStorage: tieredStorage, time: time);

    protected static byte[] Payload(int i) => Encoding.UTF8.GetBytes($"message {i} " + new string((char)('a' + (i % 26)), i % 40));

    protected static async Task<List<Position>> AddAsync(ManagedLedger ledger, int from, int count)
    {
        var adds = new Task<Position>[count];
        for (var i = 0; i < count; i++)
            adds[i] = ledger.AddEntryAsync(Payload(from + i)).AsTask();
        return [.. await Task.WhenAll(adds)];
    }

    protected static async Task<List<ManagedEntry>> ReadAllAsync(ManagedLedger ledger)
        => [.. await ledger.ReadEntriesAsync(ledger.FirstPosition, int.MaxValue)];

    /// <summary>Reads a cursor until it returns nothing more.</summary>
    protected static async Task<List<ManagedEntry>> DrainAsync(ManagedCursor cursor)
    {
        var all = new List<ManagedEntry>();
        while (true)
        {
            var batch = await cursor.ReadEntriesAsync(7);
            if (batch.Count == 0)
                return all;
            all.AddRange(batch);
        }
    }

    /// <summary>The payload's message number.</summary>
    protected static int MessageOf(ManagedEntry entry) => int.Parse(Encoding.UTF8.GetString(entry.Data.Span).Split(' ')[1]);

    private protected async Task<(CursorInfo Info, long Version)> StoredCursorAsync(string ledger, string cursor)
    {
        var stored = await Metadata.GetAsync(StoredPaths.Cursor(ledger, cursor));
        Assert.NotNull(stored);
        return (CursorInfo.Parser.ParseFrom(stored.Value.Memory.Span), stored.Version);
    }

    protected static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Timed out waiting until {what}.");
            await Task.Delay(10);
        }
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public override long GetTimestamp() => _now.UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by) => _now += by;
}
