using Microsoft.AspNetCore.Builder;
using Tiered.Broker;

namespace Tiered.Cli;

/// <summary>Maps the admin REST API on a broker's HTTP endpoint.</summary>
internal static class AdminHosting
{
    public static void Map(WebApplication app, BrokerServer broker)
    {
    }
}
