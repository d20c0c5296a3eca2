using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Tiered.Hosting;

/// <summary>Registration of a role's life (a hosted service the role's other services also resolve).</summary>
public static class HostedRole
{
    /// <summary>Registers <typeparamref name="T"/> once, as a singleton and as the hosted service the host starts and stops.</summary>
    public static IServiceCollection AddHostedSingleton<T>(this IServiceCollection services)
        where T : class, IHostedService
    {
        services.AddSingleton<T>();
        services.AddHostedService(sp => sp.GetRequiredService<T>());
        return services;
    }
}
