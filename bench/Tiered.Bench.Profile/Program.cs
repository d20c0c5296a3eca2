using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// tiered-bench-profile TRACE.nettrace [MESSAGES]: where the bytes of a gc-verbose trace were allocated.
// The runtime samples one allocation per ~100 KB (AllocationTick), so the shares are estimates; with
// MESSAGES (messages handled during the trace) it also prints bytes per message.
if (args.Length is < 1 or > 2 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: tiered-bench-profile TRACE.nettrace [MESSAGES]   (a trace of `dotnet-trace collect --profile gc-verbose`)");
    return 2;
}
using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(args[0]));
var byType = new Dictionary<string, long>();
var bySite = new Dictionary<string, long>();
var large = new Dictionary<string, long>();
long total = 0, largeTotal = 0;
var collections = new int[3];
var pauses = new List<double>();
double? suspendedAt = null;
long promoted0 = 0, promoted1 = 0;
foreach (var data in log.Events)
{
    switch (data)
    {
        case GCStartTraceData start:
            collections[Math.Min(start.Depth, 2)]++;
            continue;
        case GCSuspendEETraceData suspend:
            suspendedAt = suspend.TimeStampRelativeMSec;
            continue;
        case GCNoUserDataTraceData restart when restart.EventName.Contains("RestartEEStop") && suspendedAt is { } at:
            pauses.Add(restart.TimeStampRelativeMSec - at);
            suspendedAt = null;
            continue;
        case GCHeapStatsTraceData stats:
            (promoted0, promoted1) = (promoted0 + stats.TotalPromotedSize0, promoted1 + stats.TotalPromotedSize1);
            continue;
    }
    if (data is not GCAllocationTickTraceData tick)
        continue;
    var bytes = tick.AllocationAmount64;
    total += bytes;
    Add(byType, tick.TypeName, bytes);
    var site = FirstOwnFrame(data.CallStack());
    Add(bySite, $"{tick.TypeName} <- {site}", bytes);
    if (tick.AllocationKind == GCAllocationKind.Large)
    {
        largeTotal += bytes;
        Add(large, $"{tick.TypeName} <- {site}", bytes);
    }
}
Console.WriteLine($"allocated (sampled): {total / 1e6:F1} MB" + (args.Length == 2 && long.TryParse(args[1], out var messages) && messages > 0
    ? $", {total / (double)messages:F0} B per message over {messages:N0} messages" : ""));
pauses.Sort();
Console.WriteLine($"collections: gen0 {collections[0]}, gen1 {collections[1]}, gen2 {collections[2]}; promoted out of gen0 {promoted0 / 1e6:F1} MB, out of gen1 {promoted1 / 1e6:F1} MB");
if (pauses.Count > 0)
    Console.WriteLine($"pauses (suspension to restart): {pauses.Count}, total {pauses.Sum():F0} ms over the trace, median {pauses[pauses.Count / 2]:F1} ms, max {pauses[^1]:F1} ms");
Print("by type", byType, total, 25);
Print("by type and the first frame of Tiered, gRPC, Kestrel or Protobuf code above it", bySite, total, 40);
Console.WriteLine($"large-object heap: {largeTotal / 1e6:F1} MB");
Print("large-object heap, by site", large, Math.Max(largeTotal, 1), 10);
return 0;

static void Add(Dictionary<string, long> into, string key, long bytes) => into[key] = into.GetValueOrDefault(key) + bytes;

static string FirstOwnFrame(TraceCallStack? stack)
{
    for (var depth = 0; stack is not null && depth < 24; stack = stack.Caller, depth++)
    {
        var name = stack.CodeAddress.FullMethodName;
        if (name.Contains("Tiered.") || name.Contains("Grpc.") || name.Contains("Kestrel") || name.Contains("Protobuf"))
            return name.Length > 160 ? name[..160] : name;
    }
    return "?";
}

static void Print(string title, Dictionary<string, long> shares, long total, int top)
{
    Console.WriteLine($"--- {title}");
    foreach (var (key, bytes) in shares.OrderByDescending(s => s.Value).Take(top))
        Console.WriteLine($"{100.0 * bytes / total,6:F2} %  {key}");
}
