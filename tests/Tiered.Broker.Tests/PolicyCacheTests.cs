using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Testing;

namespace Tiered.Broker.Tests;

/// <summary>
/// The broker reads tenants, namespace policies and partition counts through a watch-fed cache:
/// warm, it reads nothing from the metadata service; a change is seen promptly; a lost watch is
/// started again and the keys read anew.
/// </summary>
public sealed class PolicyCacheTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private static readonly NamespaceName Ns = new("t1", "ns");
    private static readonly TopicName Topic = new(Ns, "topic");

    private LocalMetadata _metadata = null!;
    private CountingStore _store = null!;
    private PolicyStore _policies = null!;

    public async Task InitializeAsync()
    {
        _metadata = await LocalMetadata.StartAsync();
        await _metadata.Store.PutAsync(MetadataPaths.Tenant(Ns.Tenant), """{"adminRoles":[],"allowedClusters":["standalone"]}"""u8.ToArray());
        await PutPoliciesAsync(ttl: 10);
        _store = new CountingStore(_metadata.Store);
        _policies = new PolicyStore(_store);
    }

    public async Task DisposeAsync()
    {
        await _policies.DisposeAsync();
        await _metadata.DisposeAsync();
    }

    /// <summary>Straight to the metadata service, as another broker's admin API would.</summary>
    private Task PutPoliciesAsync(int ttl)
        => _metadata.Store.PutAsync(MetadataPaths.Namespace(Ns), System.Text.Encoding.UTF8.GetBytes($$"""{"message_ttl_in_seconds":{{ttl}}}""")).AsTask();

    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Not within {Wait}: {what}");
            await Task.Delay(10);
        }
    }

    private async Task WarmAsync()
    {
        await Eventually(async () =>
        {
            await _policies.RequireNamespaceAsync(Ns, CancellationToken.None);
            await _policies.GetPartitionsAsync(Topic, CancellationToken.None);
            return _policies.Cache.IsLive;
        }, "the cache's watch runs");
        // Read once more, now that reads are cached.
        await _policies.RequireNamespaceAsync(Ns, CancellationToken.None);
        await _policies.GetPartitionsAsync(Topic, CancellationToken.None);
    }

    [Fact]
    public async Task Once_warm_namespace_tenant_and_partition_reads_cost_no_read_of_the_metadata_service()
    {
        await WarmAsync();
        var before = _store.Reads;
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(10, (await _policies.RequireNamespaceAsync(Ns, CancellationToken.None)).MessageTtlInSeconds);
            Assert.Equal(0, await _policies.GetPartitionsAsync(Topic, CancellationToken.None));
        }
        Assert.Equal(before, _store.Reads);
    }

    [Fact]
    public async Task A_policy_change_made_in_the_metadata_service_is_seen_within_the_deadline()
    {
        await WarmAsync();
        await PutPoliciesAsync(ttl: 20);
        await Eventually(async () => (await _policies.GetNamespaceAsync(Ns, CancellationToken.None))?.MessageTtlInSeconds == 20, "the new TTL is seen");
    }

    [Fact]
    public async Task A_change_written_through_the_policy_stores_own_view_is_seen_at_once()
    {
        await WarmAsync();
        await _policies.Metadata.PutAsync(MetadataPaths.Namespace(Ns), """{"message_ttl_in_seconds":30}"""u8.ToArray());
        Assert.Equal(30, (await _policies.GetNamespaceAsync(Ns, CancellationToken.None))?.MessageTtlInSeconds);
    }

    [Fact]
    public async Task A_deleted_namespace_and_a_deleted_tenant_are_no_longer_served()
    {
        await WarmAsync();
        await _metadata.Store.PutAsync(MetadataPaths.PartitionedTopic(Topic), """{"partitions":3}"""u8.ToArray());
        await Eventually(async () => await _policies.GetPartitionsAsync(Topic, CancellationToken.None) == 3, "the partitioned topic is seen");

        await _metadata.Store.DeleteAsync(MetadataPaths.Tenant(Ns.Tenant));
        await Eventually(async () => await RefusalAsync() == BrokerErrorCode.TenantNotFound, "the tenant's deletion is seen");
        await _metadata.Store.DeleteAsync(MetadataPaths.Namespace(Ns));
        await Eventually(async () => await RefusalAsync() == BrokerErrorCode.NamespaceNotFound, "the namespace's deletion is seen");
    }

    private async Task<BrokerErrorCode?> RefusalAsync()
    {
        try
        {
            await _policies.RequireNamespaceAsync(Ns, CancellationToken.None);
            return null;
        }
        catch (BrokerException e)
        {
            return e.Code;
        }
    }

    [Fact]
    public async Task A_lost_watch_makes_reads_go_to_the_store_until_it_is_back_and_the_keys_are_read_anew()
    {
        await WarmAsync();
        var watches = _store.Watches;
        _store.Break();
        await Eventually(() => Task.FromResult(!_policies.Cache.IsLive && _store.Watches > watches), "the cache notices the lost watch");
        Assert.Equal(0, _policies.Cache.Count);

        // Without its watch the cache answers from the store: what changed meanwhile is seen at once.
        await PutPoliciesAsync(ttl: 40);
        var reads = _store.Reads;
        Assert.Equal(40, (await _policies.GetNamespaceAsync(Ns, CancellationToken.None))?.MessageTtlInSeconds);
        Assert.True(_store.Reads > reads);

        _store.Repair();
        await WarmAsync();
        reads = _store.Reads;
        Assert.Equal(40, (await _policies.GetNamespaceAsync(Ns, CancellationToken.None))?.MessageTtlInSeconds);
        Assert.Equal(reads, _store.Reads);
        await PutPoliciesAsync(ttl: 50);
        await Eventually(async () => (await _policies.GetNamespaceAsync(Ns, CancellationToken.None))?.MessageTtlInSeconds == 50, "a change after the watch is back is seen");
    }

    [Fact]
    public async Task Auth_policies_and_tenant_admins_are_read_from_the_cache_and_a_grant_made_elsewhere_is_seen()
    {
        await WarmAsync();
        Assert.True((await _policies.GetAuthPoliciesAsync(Ns, CancellationToken.None))!.IsEmpty);
        Assert.Empty((await _policies.GetTenantAsync(Ns.Tenant, CancellationToken.None))!.AdminRoles);
        Assert.Null(await _policies.GetAuthPoliciesAsync(new NamespaceName("t1", "missing"), CancellationToken.None));
        var before = _store.Reads;
        for (var i = 0; i < 100; i++)
        {
            await _policies.GetAuthPoliciesAsync(Ns, CancellationToken.None);
            await _policies.GetTenantAsync(Ns.Tenant, CancellationToken.None);
        }
        Assert.Equal(before, _store.Reads);

        // As another broker's admin API would write a grant.
        await _metadata.Store.PutAsync(MetadataPaths.Namespace(Ns),
            """{"message_ttl_in_seconds":10,"auth_policies":{"namespace_auth":{"app":["produce"]},"destination_auth":{},"subscription_auth_roles":{}}}"""u8.ToArray());
        await Eventually(async () => (await _policies.GetAuthPoliciesAsync(Ns, CancellationToken.None))!.NamespaceAuth.ContainsKey("app"), "the grant is seen");
        var authorizer = new Tiered.Security.Authorization.Authorizer([]);
        var tenant = await _policies.GetTenantAsync(Ns.Tenant, CancellationToken.None);
        Assert.True(authorizer.CanProduce("app", Topic.ToString(), tenant!.AdminRoles, await _policies.GetAuthPoliciesAsync(Ns, CancellationToken.None)).IsAllowed);
    }
}
