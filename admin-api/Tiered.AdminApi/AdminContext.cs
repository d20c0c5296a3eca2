using Tiered.Broker.Admin;
using Tiered.Ledger;

namespace Tiered.AdminApi;

/// <summary>What the endpoints work with: the stored admin objects, the broker's topics, the options, and a way to ask bookies about themselves.</summary>
internal sealed record AdminContext(AdminStore Store, ITopicAdmin Topics, AdminApiOptions Options, Func<bool> IsReady, IBookieInfoReader Bookies);
