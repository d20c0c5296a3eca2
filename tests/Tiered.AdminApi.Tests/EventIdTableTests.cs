using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// The log event ids follow one table (docs/observability.md): a range of 1000 per assembly, every
/// id used once across the solution, and an event name on each.
/// </summary>
public sealed class EventIdTableTests
{
    /// <summary>The first id of each assembly's range; the range is [first, first + 999].</summary>
    private static readonly Dictionary<string, int> Ranges = new(StringComparer.Ordinal)
    {
        ["Tiered.Metadata"] = 1000,
        ["Tiered.Bookie"] = 2000,
        ["Tiered.Ledger"] = 3000,
        ["Tiered.Broker"] = 4000,
        ["Tiered.ManagedLedgers"] = 5000,
        ["Tiered.Offloader"] = 6000,
        ["Tiered.AdminApi"] = 7000,
        ["Tiered.Client"] = 8000,
        ["tiered"] = 9000,
        ["Tiered.Metadata.Client"] = 10000,
        ["Tiered.Cluster"] = 11000,
        ["Tiered.Replication"] = 12000,
        ["Tiered.Security"] = 13000,
        ["Tiered.Operator"] = 14000,
    };

    /// <summary>
    /// The assemblies of the table (the project references them, so they are in the output folder)
    /// and every Tiered assembly they reference, so that one missing from the table is noticed.
    /// </summary>
    private static IEnumerable<Assembly> SolutionAssemblies()
    {
        var seen = new HashSet<string>(Ranges.Keys, StringComparer.Ordinal);
        var pending = new Queue<Assembly>(Ranges.Keys.Select(name => Assembly.Load(name)));
        while (pending.TryDequeue(out var assembly))
        {
            yield return assembly;
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                if (reference.Name is { } name && name.StartsWith("Tiered.", StringComparison.Ordinal) && seen.Add(name))
                    pending.Enqueue(Assembly.Load(reference));
            }
        }
    }

    private static IEnumerable<(string Assembly, string Method, LoggerMessageAttribute Message)> LogMessages()
        => from assembly in SolutionAssemblies()
           from type in assembly.GetTypes()
           from method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
           let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
           where attribute is not null
           select (assembly.GetName().Name!, $"{type.FullName}.{method.Name}", attribute);

    [Fact]
    public void Every_assembly_that_logs_is_seen_by_this_test()
    {
        var logging = LogMessages().Select(m => m.Assembly).ToHashSet();

        Assert.Equal(Ranges.Keys.Order(), logging.Order());
    }

    [Fact]
    public void Each_log_event_id_is_unique_named_and_in_its_assemblys_range()
    {
        var messages = LogMessages().ToList();
        Assert.NotEmpty(messages);

        Assert.All(messages, m =>
        {
            Assert.True(Ranges.TryGetValue(m.Assembly, out var first), $"{m.Assembly} has no event-id range: add one to docs/observability.md and to this test.");
            Assert.True(m.Message.EventId >= first && m.Message.EventId <= first + 999,
                $"{m.Method} has event id {m.Message.EventId}, outside {m.Assembly}'s range {first}–{first + 999}.");
            Assert.False(string.IsNullOrEmpty(m.Message.EventName), $"{m.Method} has no EventName.");
        });
        var duplicates = messages.GroupBy(m => m.Message.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}").ToList();
        Assert.True(duplicates.Count == 0, $"Event ids used more than once: {string.Join("; ", duplicates)}");
    }
}
