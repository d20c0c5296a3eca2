using System.Diagnostics;
using System.Globalization;
using Tiered.Broker.Subscriptions.Delayed;
using Tiered.ManagedLedgers;

// Fills one subscription's delayed-delivery tracker (the broker's class, as the dispatcher fills it) with N held
// messages, one entry each (the .NET producer sends a delayed message in a batch of its own), in log order over
// ledgers of 50,000 entries, with times spread at random over a window, and reports the tracker's own accounting
// (what stats call delayedMessageIndexSizeInBytes) and the managed heap's growth measured after full collections.
// Usage: tiered-bench-delayed-memory [--messages N] [--spread-seconds S] [--tick-ms T] [--max-index-mb M]
var messages = Arg("--messages", 1_000_000);
var spreadSeconds = Arg("--spread-seconds", 3_600);
var tickMs = Arg("--tick-ms", (int)DelayedDeliveryTracker.DefaultTickMs);
var maxIndexMb = Arg("--max-index-mb", (int)(DelayedDeliveryTracker.DefaultMaxIndexBytes / 1024 / 1024));

Console.WriteLine($"delayed-delivery tracker: {messages:N0} messages over {spreadSeconds:N0} s, tick {tickMs} ms, cap {maxIndexMb} MiB");
Run(spreadSeconds);
// A spread so wide that the slots exceed the cap: the farthest are spilled to summaries, memory stays bounded.
Run(spreadSeconds * 240);
ScanCost();
return 0;

// What a Shared subscription adds per entry on the normal path: one walk of the batch's messages for deliver_at_ms,
// next to the header read every subscription does.
void ScanCost()
{
    var batch = new Tiered.V1.MessageBatch { FormatVersion = 1, ProducerName = "bench", PublishTimeMs = 1 };
    for (var i = 0; i < 100; i++)
    {
        var message = new Tiered.V1.Message { Payload = Google.Protobuf.ByteString.CopyFrom(new byte[100]), Key = $"key-{i}" };
        message.Properties["type"] = "created";
        batch.Messages.Add(message);
    }
    var bytes = Google.Protobuf.MessageExtensions.ToByteArray(batch);
    const int rounds = 200_000;
    long sink = 0;
    var started = Stopwatch.GetTimestamp();
    for (var i = 0; i < rounds; i++)
        sink += Tiered.Broker.Entries.BatchHeader.TryRead(bytes, out var header, out _) ? header.MessageCount : 0;
    var headerNs = Stopwatch.GetElapsedTime(started).TotalNanoseconds / rounds;
    started = Stopwatch.GetTimestamp();
    for (var i = 0; i < rounds; i++)
        sink += Tiered.Broker.Entries.BatchHeader.LatestDeliverAt(bytes);
    var scanNs = Stopwatch.GetElapsedTime(started).TotalNanoseconds / rounds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  deliver_at scan of a 100-message batch ({bytes.Length:N0} bytes): {scanNs / 1000:F2} µs per entry ({scanNs / 100:F0} ns per message; the header read: {headerNs / 1000:F2} µs){(sink == 42 ? "" : "")}"));
}

void Run(int spread)
{
    var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    var random = new Random(42);
    var before = HeapAfterFullCollection();
    var started = Stopwatch.GetTimestamp();
    var tracker = new DelayedDeliveryTracker(tickMs, maxIndexMb * 1024L * 1024L);
    for (var i = 0; i < messages; i++)
        tracker.Add(new Position(100 + i / 50_000, i % 50_000), now + 1 + random.NextInt64((long)spread * 1000), 1);
    var fillSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
    var heap = HeapAfterFullCollection() - before;
    started = Stopwatch.GetTimestamp();
    var due = new List<Position>();
    tracker.TakeDue(now + 60_000, due, int.MaxValue);
    var takeMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  spread {spread:N0} s: index {tracker.IndexBytes / 1048576.0:F1} MiB ({(double)tracker.IndexBytes / messages:F1} B/message), "
        + $"managed heap +{heap / 1048576.0:F1} MiB ({(double)heap / messages:F1} B/message), {tracker.SlotCount:N0} slots in memory, "
        + $"{tracker.SpilledEntries:N0} messages spilled in {tracker.SummaryCount:N0} summaries; filled in {fillSeconds:F2} s, "
        + $"first minute's {due.Count:N0} due taken in {takeMs:F1} ms"));
    GC.KeepAlive(tracker);
}

static long HeapAfterFullCollection()
{
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    GC.WaitForPendingFinalizers();
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    return GC.GetTotalMemory(forceFullCollection: true);
}

int Arg(string name, int defaultValue)
{
    var at = Array.IndexOf(args, name);
    if (at < 0)
        return defaultValue;
    if (at + 1 < args.Length && int.TryParse(args[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1)
        return value;
    Console.Error.WriteLine($"{name} wants a positive whole number.");
    Environment.Exit(2);
    return 0;
}
