using System.CommandLine;
using System.Diagnostics;
using Tiered.Client;

namespace Tiered.Cli.Messaging;

internal static partial class PerfCommand
{
    /// <summary>Messages acknowledged per request.</summary>
    private const int AckBatch = 100;

    private static Command CreateConsume()
    {
        var topic = ClientCommandLine.Topic();
        var subscription = new Option<string>("--subscription", "-s")
        {
            HelpName = "NAME",
            Description = "The subscription to consume from (created at --from if missing).",
            DefaultValueFactory = _ => "tiered-perf",
        };
        var type = ClientCommandLine.SubscriptionTypeOption();
        var from = new Option<string>("--from")
        {
            HelpName = "earliest|latest",
            Description = "Where a new subscription starts.",
            DefaultValueFactory = _ => "latest",
        };
        from.AcceptOnlyFromAmong("earliest", "latest");
        var queue = ClientCommandLine.Positive("--receiver-queue", "N", "Messages the broker may push ahead of the application (per partition).", 1000);
        var duration = Duration();
        var url = ClientCommandLine.Url();
        var command = new Command(
            "consume",
            "Receive and acknowledge messages as fast as they come, printing msg/s, MB/s and end-to-end latency "
            + "(publish time to receive: p50, p99, p99.9, max) every second, and the full latency distribution at the end. "
            + "Clocks of producer and consumer hosts must agree for the latency to mean anything.")
        {
            topic, subscription, type, from, queue, duration, url,
        };
        command.SetAction((parseResult, cancellationToken) => RunConsumeAsync(
            new ConsumerOptions(parseResult.GetValue(topic)!, parseResult.GetValue(subscription)!)
            {
                Type = parseResult.GetValue(type),
                InitialPosition = parseResult.GetValue(from) == "earliest" ? SubscriptionInitialPosition.Earliest : SubscriptionInitialPosition.Latest,
                ReceiverQueueSize = parseResult.GetValue(queue),
            },
            parseResult.GetValue(duration),
            parseResult.GetValue(url)!,
            parseResult,
            cancellationToken));
        TokenOptions.AddTo(command);
        TlsTrustOption.AddTo(command);
        return command;
    }

    private static async Task<int> RunConsumeAsync(ConsumerOptions options, double seconds, string url, ParseResult parseResult, CancellationToken cancellationToken)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            return Exit.Error(Exit.BadOptions, e.Message);
        }
        using var loggerFactory = ConsoleLogging.CreateFactory(parseResult);
        using var shutdown = new Shutdown(cancellationToken);
        var stats = new PerfStats();
        var ackErrors = 0L;
        try
        {
            await using var client = ClientCommandLine.CreateClient(url, loggerFactory, parseResult);
            await using var consumer = await client.SubscribeAsync(options, shutdown.Token);
            Console.Error.WriteLine($"perf consume: {consumer.Topic} ({Math.Max(consumer.Partitions, 1)} partition(s)), subscription {options.Subscription} ({options.Type})");
            using var run = RunToken(shutdown, seconds);
            var started = Stopwatch.GetTimestamp();
            var report = stats.ReportEverySecondAsync("consume", null, run.Token);
            var pendingAcks = new List<Task>();
            var toAck = new List<ReceivedMessage>(AckBatch);
            try
            {
                while (true)
                {
                    var message = await consumer.ReceiveAsync(run.Token);
                    var latencyMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - message.PublishTimeMs;
                    stats.Record(Math.Max(latencyMs, 0) * 1000, message.Payload.Length);
                    toAck.Add(message);
                    if (toAck.Count == AckBatch)
                    {
                        pendingAcks.Add(consumer.AcknowledgeAsync(toAck));
                        toAck = new List<ReceivedMessage>(AckBatch);
                        pendingAcks.RemoveAll(static t => t.IsCompletedSuccessfully);
                    }
                }
            }
            catch (OperationCanceledException) when (run.IsCancellationRequested)
            {
            }
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (toAck.Count > 0)
                pendingAcks.Add(consumer.AcknowledgeAsync(toAck));
            foreach (var ack in pendingAcks)
            {
                try
                {
                    await ack;
                }
                catch (Exception e) when (IsClientError(e))
                {
                    ackErrors++;
                    stats.Error(e);
                }
            }
            await report;
            stats.PrintSummary("perf consume", "end-to-end", elapsed);
        }
        catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
        {
            return Exit.Error(Exit.Failed, "stopped before the consumer was subscribed.");
        }
        catch (Exception e) when (IsClientError(e))
        {
            return await FailAsync(e, url);
        }
        return ackErrors == 0 ? Exit.Ok : Exit.Error(Exit.Failed, $"{ackErrors} acknowledgement requests failed.");
    }
}
