using Tiered.Broker.Admin;

namespace Tiered.AdminApi;

/// <summary>What the endpoints work with: the stored admin objects, the broker's topics, the options.</summary>
internal sealed record AdminContext(AdminStore Store, ITopicAdmin Topics, AdminApiOptions Options, Func<bool> IsReady);
