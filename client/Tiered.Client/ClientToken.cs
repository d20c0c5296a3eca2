using Tiered.Proto.Auth;

namespace Tiered.Client;

/// <summary>
/// Where the client's token comes from, first match wins: <see cref="TieredClientOptions.Token"/>,
/// <see cref="TieredClientOptions.TokenFile"/> (read again when it changes, so each new stream and lookup picks up a
/// rotated file), then the environment variable <c>TIERED_TOKEN</c>. It is sent as <c>authorization: Bearer TOKEN</c>
/// metadata on every gRPC call (<see cref="CallToken"/>).
/// </summary>
internal static class ClientToken
{
    public const string EnvironmentVariable = "TIERED_TOKEN";

    /// <summary>None when no option names a token and TIERED_TOKEN is unset or empty.</summary>
    public static CallToken? From(TieredClientOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.Token))
            return CallToken.Fixed(options.Token);
        if (!string.IsNullOrWhiteSpace(options.TokenFile))
            return CallToken.FromFile(options.TokenFile);
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(fromEnvironment) ? null : CallToken.Fixed(fromEnvironment);
    }
}
