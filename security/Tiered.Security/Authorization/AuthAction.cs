namespace Tiered.Security.Authorization;

/// <summary>
/// What a grant allows, as Pulsar's <c>AuthAction</c> names it in JSON. Tiered has no functions, sources,
/// sinks or packages, so only the two actions its topics have are accepted: a grant of anything else would be
/// stored and never mean anything.
/// </summary>
public static class AuthAction
{
    /// <summary>Look the topic up and publish to it.</summary>
    public const string Produce = "produce";

    /// <summary>Look the topic up, subscribe, read, seek and see its last message id.</summary>
    public const string Consume = "consume";

    /// <summary>Every action a grant may name, in the order the API lists them.</summary>
    public static IReadOnlyList<string> Supported { get; } = [Produce, Consume];

    public static bool IsSupported(string? action) => action is Produce or Consume;

    /// <summary>"produce, consume": for messages that say what is accepted.</summary>
    public static string SupportedList => string.Join(", ", Supported);
}
