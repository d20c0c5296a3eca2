using System.CommandLine;
using System.CommandLine.Parsing;

namespace Tiered.Cli;

/// <summary>
/// <c>--token</c> and <c>--token-file</c> of the client commands (produce, consume, perf, admin), with the environment
/// variable TIERED_TOKEN as the fallback, as Pulsar's clients take <c>--auth-params token:…</c>. The token is sent as
/// <c>authorization: Bearer …</c>; servers with authentication on check it. It is never printed.
/// </summary>
internal static class TokenOptions
{
    public const string EnvironmentVariable = "TIERED_TOKEN";

    public static readonly Option<string?> Token = new("--token")
    {
        HelpName = "TOKEN",
        Description = "Authentication token (from 'tiered tokens create') to send as 'authorization: Bearer'; servers with authentication "
            + $"on check it. Default: ${EnvironmentVariable}. On a shared machine prefer --token-file or the variable: arguments show in the process list.",
        Recursive = true,
    };

    public static readonly Option<string?> TokenFile = new("--token-file")
    {
        HelpName = "FILE",
        Description = "Read the token from this file (surrounding white space ignored); a client reads it again for each new connection, so a rotated token is picked up.",
        Recursive = true,
    };

    /// <summary>Adds both options and the check that at most one is given.</summary>
    public static void AddTo(Command command)
    {
        command.Options.Add(Token);
        command.Options.Add(TokenFile);
        command.Validators.Add(Validate);
    }

    private static void Validate(CommandResult result)
    {
        if (result.GetResult(Token) is { Implicit: false } && result.GetResult(TokenFile) is { Implicit: false })
            result.AddError("Give --token or --token-file, not both.");
    }

    /// <summary>
    /// The token the admin commands send: --token, the content of --token-file, or TIERED_TOKEN; null when none is given.
    /// Throws <see cref="ArgumentException"/> naming the file when it cannot be read (never quoting its content).
    /// </summary>
    public static string? Resolve(ParseResult parseResult)
    {
        // Checked here as well: the validator of a parent command (admin) does not run for its subcommands.
        if (parseResult.GetResult(Token) is { Implicit: false } && parseResult.GetResult(TokenFile) is { Implicit: false })
            throw new ArgumentException("Give --token or --token-file, not both.");
        if (parseResult.GetValue(Token) is { Length: > 0 } token)
            return OneLine(token.Trim(), "--token");
        if (parseResult.GetValue(TokenFile) is { Length: > 0 } path)
        {
            string text;
            try
            {
                text = File.ReadAllText(path).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"cannot read the token file {path}: {(e is FileNotFoundException or DirectoryNotFoundException ? "it does not exist" : e is UnauthorizedAccessException ? "permission denied" : e.GetType().Name)}.");
            }
            return text.Length > 0 ? OneLine(text, $"the token file {path}") : throw new ArgumentException($"the token file {path} is empty.");
        }
        return Environment.GetEnvironmentVariable(EnvironmentVariable) is { } fromEnvironment && !string.IsNullOrWhiteSpace(fromEnvironment)
            ? OneLine(fromEnvironment.Trim(), EnvironmentVariable)
            : null;
    }

    private static string OneLine(string token, string source)
        => token.AsSpan().IndexOfAny('\r', '\n') < 0 ? token : throw new ArgumentException($"{source} holds more than one line; it must hold the token alone.");
}
