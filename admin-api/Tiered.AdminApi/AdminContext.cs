using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Ownership;
using Tiered.Ledger;

namespace Tiered.AdminApi;

/// <summary>
/// What the endpoints work with: the stored admin objects, the broker's topics, the options, a way
/// to ask bookies about themselves, and the broker's ownership gate (who owns which bundle). Those
/// of the broker are looked up on first use: the endpoints are mapped before the host starts the
/// broker and the metadata node they come from.
/// </summary>
internal sealed class AdminContext(Func<AdminStore> store, Func<ITopicAdmin> topics, AdminApiOptions options, Func<bool> isReady, Func<IBookieInfoReader> bookies,
    Func<IOwnershipGate?> ownership)
{
    private readonly Lazy<AdminStore> _store = new(store);
    private readonly Lazy<ITopicAdmin> _topics = new(topics);
    private readonly Lazy<IBookieInfoReader> _bookies = new(bookies);
    private readonly Lazy<IOwnershipGate?> _ownership = new(ownership);

    public AdminStore Store => _store.Value;

    public ITopicAdmin Topics => _topics.Value;

    public AdminApiOptions Options => options;

    public Func<bool> IsReady => isReady;

    public IBookieInfoReader Bookies => _bookies.Value;

    /// <summary>The gate that unloads bundles and lists their owners; Unavailable when the API is hosted without a broker.</summary>
    public IOwnershipGate Ownership => _ownership.Value
        ?? throw new BrokerException(BrokerErrorCode.Unavailable, "This admin API is hosted without a broker's ownership gate, so it cannot unload bundles or list their owners; ask a broker's admin API.");
}
