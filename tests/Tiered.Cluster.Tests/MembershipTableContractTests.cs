using System.Net;
using Orleans;
using Orleans.Runtime;
using Tiered.Cluster.Membership;
using Tiered.Testing;

namespace Tiered.Cluster.Tests;

/// <summary>
/// The membership table on a real metadata service, against the semantics Orleans documents for
/// <see cref="IMembershipTable"/>: rows and the table version change together or not at all, etags
/// reject stale writers, the heartbeat leaves the version alone, and cleanup removes only old dead rows.
/// </summary>
public sealed class MembershipTableContractTests : IAsyncLifetime
{
    private LocalMetadata _metadata = null!;
    private MetadataMembershipTable _table = null!;

    public async Task InitializeAsync()
    {
        _metadata = await LocalMetadata.StartAsync();
        _table = new MetadataMembershipTable(_metadata.Store, "test-cluster");
        await _table.InitializeMembershipTable(tryInitTableVersion: true);
    }

    public async Task DisposeAsync() => await _metadata.DisposeAsync();

    private static SiloAddress Silo(int port, int generation = 1) => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, port), generation);

    private static MembershipEntry Entry(SiloAddress silo, SiloStatus status = SiloStatus.Joining, DateTime? alive = null) => new()
    {
        SiloAddress = silo,
        Status = status,
        SiloName = $"broker-{silo.Endpoint.Port}",
        HostName = "127.0.0.1",
        ProxyPort = 0,
        StartTime = DateTime.UtcNow,
        IAmAliveTime = alive ?? DateTime.UtcNow,
        SuspectTimes = [],
    };

    [Fact]
    public async Task A_new_table_has_version_0_and_no_rows_and_initializing_again_changes_nothing()
    {
        var first = await _table.ReadAll();
        await _table.InitializeMembershipTable(tryInitTableVersion: true);
        var again = await _table.ReadAll();

        Assert.Equal(0, first.Version.Version);
        Assert.Empty(first.Members);
        Assert.Equal(first.Version, again.Version);
    }

    [Fact]
    public async Task Insert_writes_the_row_and_the_next_table_version_together()
    {
        var version = (await _table.ReadAll()).Version;
        var silo = Silo(11111);

        Assert.True(await _table.InsertRow(Entry(silo), version.Next()));

        var table = await _table.ReadAll();
        Assert.Equal(version.Version + 1, table.Version.Version);
        var (entry, etag) = Assert.Single(table.Members);
        Assert.Equal(silo, entry.SiloAddress);
        Assert.Equal("broker-11111", entry.SiloName);
        Assert.False(string.IsNullOrEmpty(etag));
        Assert.Equal(silo, (await _table.ReadRow(silo)).Members.Single().Item1.SiloAddress);
    }

    [Fact]
    public async Task Inserting_a_row_that_exists_or_on_a_stale_version_fails_and_writes_nothing()
    {
        var version = (await _table.ReadAll()).Version;
        Assert.True(await _table.InsertRow(Entry(Silo(11111)), version.Next()));
        var after = (await _table.ReadAll()).Version;

        Assert.False(await _table.InsertRow(Entry(Silo(11111)), after.Next()));        // the row exists
        Assert.False(await _table.InsertRow(Entry(Silo(22222)), version.Next()));      // the version moved on

        var table = await _table.ReadAll();
        Assert.Equal(after, table.Version);
        Assert.Single(table.Members);
    }

    [Fact]
    public async Task Update_needs_the_rows_etag_and_the_current_table_version()
    {
        var silo = Silo(11111);
        Assert.True(await _table.InsertRow(Entry(silo), (await _table.ReadAll()).Version.Next()));
        var read = await _table.ReadRow(silo);
        var (entry, etag) = read.Members.Single();

        entry.Status = SiloStatus.Active;
        Assert.True(await _table.UpdateRow(entry, etag, read.Version.Next()));

        entry.Status = SiloStatus.Dead;
        Assert.False(await _table.UpdateRow(entry, etag, (await _table.ReadAll()).Version.Next()));   // stale row etag
        var current = await _table.ReadRow(silo);
        Assert.False(await _table.UpdateRow(entry, current.Members.Single().Item2, read.Version.Next())); // stale table version

        Assert.Equal(SiloStatus.Active, (await _table.ReadRow(silo)).Members.Single().Item1.Status);
    }

    [Fact]
    public async Task Of_two_silos_updating_from_the_same_read_exactly_one_wins()
    {
        var target = Silo(11111);
        Assert.True(await _table.InsertRow(Entry(target), (await _table.ReadAll()).Version.Next()));
        var read = await _table.ReadRow(target);
        var etag = read.Members.Single().Item2;
        var suspectedBy = new[] { Silo(22222), Silo(33333) };

        var results = await Task.WhenAll(suspectedBy.Select(async suspector =>
        {
            var copy = (await _table.ReadRow(target)).Members.Single().Item1;
            copy.AddSuspector(suspector, DateTime.UtcNow);
            return await _table.UpdateRow(copy, etag, read.Version.Next());
        }));

        Assert.Equal(1, results.Count(r => r));
        var stored = (await _table.ReadRow(target)).Members.Single().Item1;
        var suspicion = Assert.Single(stored.SuspectTimes ?? []);
        Assert.Contains(suspicion.Item1, suspectedBy);
        Assert.Equal(read.Version.Version + 1, (await _table.ReadAll()).Version.Version);
    }

    [Fact]
    public async Task The_heartbeat_changes_only_the_alive_time()
    {
        var silo = Silo(11111);
        var inserted = Entry(silo, SiloStatus.Active, alive: new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Assert.True(await _table.InsertRow(inserted, (await _table.ReadAll()).Version.Next()));
        var before = await _table.ReadAll();

        var beat = Entry(silo, SiloStatus.Dead, alive: new DateTime(2026, 1, 1, 0, 0, 30, DateTimeKind.Utc));
        await _table.UpdateIAmAlive(beat);

        var after = await _table.ReadAll();
        var stored = after.Members.Single().Item1;
        Assert.Equal(beat.IAmAliveTime, stored.IAmAliveTime);
        Assert.Equal(SiloStatus.Active, stored.Status);
        Assert.Equal(before.Version, after.Version);
    }

    [Fact]
    public async Task Cleanup_removes_only_dead_rows_older_than_the_date_and_delete_removes_the_cluster()
    {
        var old = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        foreach (var (port, status, alive) in new[] { (11111, SiloStatus.Dead, old), (22222, SiloStatus.Active, old), (33333, SiloStatus.Dead, DateTime.UtcNow) })
            Assert.True(await _table.InsertRow(Entry(Silo(port), status, alive), (await _table.ReadAll()).Version.Next()));

        await _table.CleanupDefunctSiloEntries(new DateTimeOffset(old.AddHours(1)));

        Assert.Equal([22222, 33333], (await _table.ReadAll()).Members.Select(m => m.Item1.SiloAddress.Endpoint.Port).Order());
        await _table.DeleteMembershipTableEntries("test-cluster");
        Assert.Empty(await _metadata.Store.ListAsync($"{MetadataMembershipTable.Root}/test-cluster/"));
    }
}
