using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Orleans;
using Orleans.Runtime;
using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.Cluster.Membership;

/// <summary>
/// Orleans' membership table kept in the metadata service, so that brokers need no other database.
/// Under <c>/orleans/{clusterId}/</c>: <c>version</c> holds the table version, and
/// <c>silos/{silo}</c> one row per silo. A row's etag and the table version's etag are the keys'
/// versions in the metadata service. Inserting or updating a row writes the row and the new table
/// version in one transaction whose compare-and-set checks both etags: of two silos that act on the
/// same table version, one wins and the other is told false and reads again, which is what Orleans'
/// membership protocol relies on. <see cref="UpdateIAmAlive"/> changes only the row's heartbeat time.
/// </summary>
public sealed class MetadataMembershipTable(IMetadataStore store, string clusterId) : IMembershipTable
{
    public const string Root = "/orleans";

    private readonly string _prefix = $"{Root}/{clusterId}/";

    private string VersionKey => _prefix + "version";

    private string SilosPath => _prefix + "silos";

    private string RowKey(SiloAddress silo) => $"{SilosPath}/{silo.ToParsableString()}";

    public async Task InitializeMembershipTable(bool tryInitTableVersion)
    {
        if (!tryInitTableVersion)
            return;
        try
        {
            await store.PutAsync(VersionKey, VersionValue(0), expectedVersion: -1).ConfigureAwait(false);
        }
        catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
        {
            // Another silo created it first.
        }
    }

    public async Task DeleteMembershipTableEntries(string clusterId)
    {
        foreach (var kv in await store.ListAsync($"{Root}/{clusterId}/").ConfigureAwait(false))
            await store.DeleteAsync(kv.Key).ConfigureAwait(false);
    }

    /// <summary>Deletes the rows of silos declared dead whose last heartbeat is older than <paramref name="beforeDate"/>.</summary>
    public async Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate)
    {
        foreach (var kv in await store.ListAsync(SilosPath + "/").ConfigureAwait(false))
        {
            var row = MembershipRecord.FromJson(kv.Value.Span);
            if (row.Status == SiloStatus.Dead && new DateTimeOffset(DateTime.SpecifyKind(row.IAmAliveTime, DateTimeKind.Utc)) < beforeDate)
                await store.DeleteAsync(kv.Key, expectedVersion: kv.Version).ConfigureAwait(false);
        }
    }

    public async Task<MembershipTableData> ReadRow(SiloAddress key)
    {
        var (version, rows) = await ReadAsync().ConfigureAwait(false);
        var row = rows.FirstOrDefault(r => r.Item1.SiloAddress.Equals(key));
        return row is null ? new MembershipTableData(version) : new MembershipTableData(row, version);
    }

    public async Task<MembershipTableData> ReadAll()
    {
        var (version, rows) = await ReadAsync().ConfigureAwait(false);
        return new MembershipTableData(rows, version);
    }

    public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion)
        => WriteAsync(entry, rowVersion: -1, tableVersion);

    public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion)
        => WriteAsync(entry, ParseEtag(etag), tableVersion);

    public async Task UpdateIAmAlive(MembershipEntry entry)
    {
        var key = RowKey(entry.SiloAddress);
        while (true)
        {
            var kv = await store.GetAsync(key).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Silo {entry.SiloAddress} has no row in the membership table to update.");
            var row = MembershipRecord.FromJson(kv.Value.Span) with { IAmAliveTime = entry.IAmAliveTime };
            try
            {
                await store.PutAsync(key, row.ToJson(), expectedVersion: kv.Version).ConfigureAwait(false);
                return;
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
            {
                // The row changed meanwhile (a suspicion): apply the heartbeat to the new row.
            }
        }
    }

    /// <summary>The table version and every row, read at one revision of the metadata service.</summary>
    private async Task<(TableVersion Version, List<Tuple<MembershipEntry, string>> Rows)> ReadAsync()
    {
        var kvs = await store.ListAsync(_prefix).ConfigureAwait(false);
        var version = new TableVersion(0, "-1");
        var rows = new List<Tuple<MembershipEntry, string>>();
        foreach (var kv in kvs)
        {
            if (kv.Key == VersionKey)
                version = new TableVersion(JsonSerializer.Deserialize<StoredVersion>(kv.Value.Span)!.Version, Etag(kv.Version));
            else if (kv.Key.StartsWith(SilosPath + "/", StringComparison.Ordinal))
                rows.Add(Tuple.Create(MembershipRecord.FromJson(kv.Value.Span).ToEntry(), Etag(kv.Version)));
        }
        return (version, rows);
    }

    /// <summary>
    /// Writes the row (expected at <paramref name="rowVersion"/>; -1: must not exist) and the table
    /// version <paramref name="tableVersion"/> (expected at its etag) in one transaction. False when
    /// either changed since it was read.
    /// </summary>
    private async Task<bool> WriteAsync(MembershipEntry entry, long rowVersion, TableVersion tableVersion)
    {
        var request = new TxnRequest
        {
            Ops =
            {
                new TxnOp { Put = new PutRequest { Key = RowKey(entry.SiloAddress), Value = ByteString.CopyFrom(MembershipRecord.From(entry).ToJson()), ExpectedVersion = rowVersion } },
                new TxnOp { Put = new PutRequest { Key = VersionKey, Value = ByteString.CopyFrom(VersionValue(tableVersion.Version)), ExpectedVersion = ParseEtag(tableVersion.VersionEtag) } },
            },
        };
        try
        {
            await store.TxnAsync(request).ConfigureAwait(false);
            return true;
        }
        catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
        {
            return false;
        }
    }

    private static byte[] VersionValue(int version) => JsonSerializer.SerializeToUtf8Bytes(new StoredVersion(version));

    private static string Etag(long version) => version.ToString(CultureInfo.InvariantCulture);

    private static long ParseEtag(string etag)
        => long.TryParse(etag, NumberStyles.Integer, CultureInfo.InvariantCulture, out var version) ? version
            : throw new ArgumentException($"'{etag}' is not an etag of this membership table.", nameof(etag));

    private sealed record StoredVersion([property: System.Text.Json.Serialization.JsonPropertyName("version")] int Version);
}
