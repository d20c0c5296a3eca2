using System.CommandLine;

namespace Tiered.Cli;

/// <summary>
/// <c>tiered admin</c>: a thin client of the admin REST API (docs/admin-api.md) with
/// pulsar-admin-like subcommands. Prints JSON answers; on a refusal prints the server's reason
/// and exits with 1.
/// </summary>
internal static partial class AdminCommand
{
    public const string DefaultAdminUrl = "http://127.0.0.1:8080";

    private static readonly Option<string> AdminUrl = new("--admin-url")
    {
        HelpName = "URL",
        Description = "Base URL of a broker's admin API.",
        DefaultValueFactory = _ => DefaultAdminUrl,
        Recursive = true,
    };

    public static Command Create()
    {
        var command = new Command("admin", "Manage clusters, tenants, namespaces, topics and subscriptions, and see brokers and bookies, through a broker's admin REST API.")
        {
            AdminUrl,
            Clusters(),
            Tenants(),
            Namespaces(),
            Topics(),
            Brokers(),
            Bookies(),
        };
        TokenOptions.AddTo(command);
        TlsTrustOption.AddTo(command);
        return command;
    }

    /// <summary>Sets the action of <paramref name="command"/>: one call of the admin API.</summary>
    private static void Run(Command command, Func<ParseResult, AdminHttp, CancellationToken, Task<int>> call)
        => command.SetAction(async (parseResult, cancellationToken) =>
        {
            var url = parseResult.GetValue(AdminUrl)!;
            if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
                return Exit.Error(Exit.BadOptions, $"--admin-url '{url}' is not an http:// or https:// URL.");
            try
            {
                using var http = new AdminHttp(baseUrl, TokenOptions.Resolve(parseResult), TlsTrustOption.Resolve(parseResult));
                return await call(parseResult, http, cancellationToken);
            }
            catch (ArgumentException e)
            {
                return Exit.Error(Exit.BadOptions, e.Message);
            }
        });

    private static Argument<string> NameArgument(string name, string description) => new(name) { Description = description };

    /// <summary>"tenant/namespace" as two path segments.</summary>
    private static string[] NamespaceSegments(string name)
    {
        var parts = name.Split('/');
        return parts.Length == 2 && parts.All(p => p.Length > 0)
            ? parts
            : throw new ArgumentException($"Invalid namespace '{name}': expected tenant/namespace.");
    }

    /// <summary>persistent://tenant/namespace/topic, tenant/namespace/topic or topic (public/default) as three path segments.</summary>
    private static string[] TopicSegments(string name)
    {
        const string scheme = "persistent://";
        var rest = name.StartsWith(scheme, StringComparison.Ordinal) ? name[scheme.Length..] : name;
        if (rest.Contains("://", StringComparison.Ordinal))
            throw new ArgumentException($"Invalid topic '{name}': only persistent:// topics exist.");
        var parts = rest.Split('/');
        return parts switch
        {
            [var topic] when topic.Length > 0 => ["public", "default", topic],
            [var tenant, var ns, var topic] when tenant.Length > 0 && ns.Length > 0 && topic.Length > 0 => parts,
            _ => throw new ArgumentException($"Invalid topic '{name}': expected persistent://tenant/namespace/topic, tenant/namespace/topic or topic."),
        };
    }

    private static List<string> SplitList(string? list)
        => list is null ? [] : [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
