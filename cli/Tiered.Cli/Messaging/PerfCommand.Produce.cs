using System.CommandLine;
using System.Diagnostics;
using Tiered.Client;

namespace Tiered.Cli.Messaging;

internal static partial class PerfCommand
{
    private static Command CreateProduce()
    {
        var topic = ClientCommandLine.Topic();
        var rate = ClientCommandLine.NotNegative("--rate", "MSG/S", "Messages per second over all producers; 0 sends as fast as the producers' pending limits allow.", 1000);
        var size = ClientCommandLine.Positive("--size", "BYTES", "Payload size of each message.", 1024);
        var duration = Duration();
        var producers = ClientCommandLine.Positive("--producers", "N", "Producers publishing in parallel, each with its own stream (and batches).", 1);
        var batching = new Option<bool>("--batching")
        {
            Description = "Batch messages sent while a batch is in flight (the default); --batching false or --no-batching sends each message alone.",
            DefaultValueFactory = _ => true,
        };
        var noBatching = new Option<bool>("--no-batching") { Description = "Send every message as its own entry." };
        var maxPending = ClientCommandLine.Positive("--max-pending", "N", "Messages each producer may have sent and not yet acknowledged.", 1000);
        var url = ClientCommandLine.Url();
        var command = new Command(
            "produce",
            "Publish messages of --size bytes at --rate msg/s with --producers producers, printing msg/s, MB/s and publish latency "
            + "(send to receipt: p50, p99, p99.9, max) every second, and the full latency distribution at the end.")
        {
            topic, rate, size, duration, producers, batching, noBatching, maxPending, url,
        };
        command.SetAction((parseResult, cancellationToken) => RunProduceAsync(
            parseResult.GetValue(topic)!,
            parseResult.GetValue(rate),
            parseResult.GetValue(size),
            parseResult.GetValue(duration),
            parseResult.GetValue(producers),
            parseResult.GetValue(batching) && !parseResult.GetValue(noBatching),
            parseResult.GetValue(maxPending),
            parseResult.GetValue(url)!,
            parseResult,
            cancellationToken));
        TokenOptions.AddTo(command);
        TlsTrustOption.AddTo(command);
        return command;
    }

    private static async Task<int> RunProduceAsync(
        string topic, double rate, int size, double seconds, int producerCount, bool batching, int maxPending, string url, ParseResult parseResult, CancellationToken cancellationToken)
    {
        using var loggerFactory = ConsoleLogging.CreateFactory(parseResult);
        using var shutdown = new Shutdown(cancellationToken);
        var stats = new PerfStats();
        try
        {
            await using var client = ClientCommandLine.CreateClient(url, loggerFactory, parseResult);
            var producers = new Producer[producerCount];
            for (var i = 0; i < producers.Length; i++)
                producers[i] = await client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = batching, MaxPendingMessages = maxPending }, shutdown.Token);
            Console.Error.WriteLine($"perf produce: {producerCount} producer(s) on {producers[0].Topic} ({Math.Max(producers[0].Partitions, 1)} partition(s)), {size} B messages, "
                + $"{(rate > 0 ? $"{rate:N0} msg/s" : "as fast as possible")}, batching {(batching ? "on" : "off")}, max pending {maxPending}");
            var payload = new byte[size];
            Random.Shared.NextBytes(payload);
            using var run = RunToken(shutdown, seconds);
            var started = Stopwatch.GetTimestamp();
            var report = stats.ReportEverySecondAsync("produce", null, run.Token);
            var loops = new Task[producers.Length];
            for (var i = 0; i < loops.Length; i++)
                loops[i] = ProduceLoopAsync(producers[i], payload, rate / producerCount, maxPending, stats, run.Token);
            await Task.WhenAll(loops);
            var elapsed = Stopwatch.GetElapsedTime(started);
            await run.CancelAsync();
            await report;
            foreach (var producer in producers)
                await producer.DisposeAsync();
            stats.PrintSummary("perf produce", "publish", elapsed);
        }
        catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
        {
            return Exit.Error(Exit.Failed, "stopped before the producers were open.");
        }
        catch (Exception e) when (IsClientError(e))
        {
            return await FailAsync(e, url);
        }
        return stats.Errors == 0 ? Exit.Ok : Exit.Error(Exit.Failed, $"{stats.Errors} messages were not acknowledged.");
    }

    /// <summary>Sends until cancelled, at most <paramref name="maxPending"/> in flight, then waits for the last receipts.</summary>
    private static async Task ProduceLoopAsync(Producer producer, byte[] payload, double rate, int maxPending, PerfStats stats, CancellationToken cancellationToken)
    {
        using var inFlight = new SemaphoreSlim(maxPending, maxPending);
        var started = Stopwatch.GetTimestamp();
        var sent = 0L;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (rate > 0 && sent >= (long)(Stopwatch.GetElapsedTime(started).TotalSeconds * rate))
                {
                    // Timers fire late here; the next pass sends whatever fell due meanwhile in one burst.
                    await Task.Delay(1, cancellationToken);
                    continue;
                }
                await inFlight.WaitAsync(cancellationToken);
                var sentAt = Stopwatch.GetTimestamp();
                _ = TrackAsync(producer.SendAsync(payload), sentAt, payload.Length, stats, inFlight);
                sent++;
            }
        }
        catch (OperationCanceledException)
        {
        }
        for (var i = 0; i < maxPending; i++)
            await inFlight.WaitAsync(CancellationToken.None);
    }

    private static async Task TrackAsync(ValueTask<MessageId> send, long startTimestamp, int bytes, PerfStats stats, SemaphoreSlim inFlight)
    {
        try
        {
            await send;
            stats.Record(MicrosSince(startTimestamp), bytes);
        }
        catch (Exception e) when (IsClientError(e))
        {
            stats.Error(e);
        }
        finally
        {
            inFlight.Release();
        }
    }
}
