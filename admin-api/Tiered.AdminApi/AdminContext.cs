using Tiered.Broker.Admin;
using Tiered.Ledger;

namespace Tiered.AdminApi;

/// <summary>
/// What the endpoints work with: the stored admin objects, the broker's topics, the options, and
/// a way to ask bookies about themselves. The first three are looked up on first use: the
/// endpoints are mapped before the host starts the broker and the metadata node they come from.
/// </summary>
internal sealed class AdminContext(Func<AdminStore> store, Func<ITopicAdmin> topics, AdminApiOptions options, Func<bool> isReady, Func<IBookieInfoReader> bookies)
{
    private readonly Lazy<AdminStore> _store = new(store);
    private readonly Lazy<ITopicAdmin> _topics = new(topics);
    private readonly Lazy<IBookieInfoReader> _bookies = new(bookies);

    public AdminStore Store => _store.Value;

    public ITopicAdmin Topics => _topics.Value;

    public AdminApiOptions Options => options;

    public Func<bool> IsReady => isReady;

    public IBookieInfoReader Bookies => _bookies.Value;
}
