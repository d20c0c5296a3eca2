using Microsoft.AspNetCore.Builder;

namespace Tiered.Hosting;

/// <summary>
/// What a role maps on the process's one web application once it is built (its gRPC services,
/// middleware, the admin API). Roles register one as a singleton; <see cref="TieredHost.Build"/>
/// calls them in registration order.
/// </summary>
public interface ITieredEndpoints
{
    void Map(WebApplication app);
}
