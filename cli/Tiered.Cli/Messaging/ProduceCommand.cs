using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Tiered.Client;

namespace Tiered.Cli.Messaging;

/// <summary><c>tiered produce</c>: publishes one text message, or N generated ones, and exits 0 only when the broker acknowledged every one.</summary>
internal static class ProduceCommand
{
    public static Command Create()
    {
        var topic = ClientCommandLine.Topic();
        var message = new Option<string?>("--message", "-m")
        {
            HelpName = "TEXT",
            Description = "Publish this text (UTF-8) as one message and print its id.",
        };
        var count = new Option<int?>("--count", "-n")
        {
            HelpName = "N",
            Description = "Publish N generated messages of --size bytes and print a summary.",
        };
        var size = ClientCommandLine.Positive("--size", "BYTES", "Payload size of each generated message (with --count).", 100);
        var key = new Option<string?>("--key", "-k")
        {
            HelpName = "KEY",
            Description = "Key of the messages: routes them to one partition of a partitioned topic and orders them per key.",
        };
        var deliverAfter = DeliverOptions.DeliverAfter();
        var deliverAt = DeliverOptions.DeliverAt();
        var url = ClientCommandLine.Url();
        var command = new Command(
            "produce",
            "Publish messages to a topic: one text message with --message (its id is printed), or --count generated messages "
            + "of --size bytes (a summary is printed). Exits 0 only when the broker acknowledged every message.")
        {
            topic, message, count, size, key, deliverAfter, deliverAt, url,
        };
        command.Validators.Add(result =>
        {
            var hasMessage = result.GetResult(message) is not null;
            var hasCount = result.GetResult(count) is not null;
            if (hasMessage == hasCount)
                result.AddError("Give either --message TEXT or --count N (with --size BYTES).");
            if (hasMessage && result.GetResult(size) is { Implicit: false })
                result.AddError("--size goes with --count, not with --message.");
            if (hasCount && result.GetValue(count) is < 1)
                result.AddError("--count must be 1 or more.");
            if (result.GetResult(deliverAfter) is not null && result.GetResult(deliverAt) is not null)
                result.AddError("Give either --deliver-after or --deliver-at, not both.");
        });
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            parseResult.GetValue(topic)!,
            parseResult.GetValue(message),
            parseResult.GetValue(count),
            parseResult.GetValue(size),
            parseResult.GetValue(key),
            DeliverTime(parseResult.GetValue(deliverAfter), parseResult.GetValue(deliverAt)),
            parseResult.GetValue(url)!,
            parseResult,
            cancellationToken));
        TokenOptions.AddTo(command);
        TlsTrustOption.AddTo(command);
        return command;
    }

    /// <summary>When the messages are to be delivered (null: at once); the delay counts from the command's start.</summary>
    private static DateTimeOffset? DeliverTime(string? after, string? at)
    {
        if (after is not null && DeliverOptions.TryParseDelay(after, out var delay, out _) && delay > TimeSpan.Zero)
            return DateTimeOffset.UtcNow + delay;
        if (at is not null && DeliverOptions.TryParseTime(at, out var time, out _))
            return time;
        return null;
    }

    private static async Task<int> RunAsync(string topic, string? text, int? count, int size, string? key, DateTimeOffset? deliverAt, string url, ParseResult parseResult, CancellationToken cancellationToken)
    {
        using var loggerFactory = ConsoleLogging.CreateFactory(parseResult);
        using var shutdown = new Shutdown(cancellationToken);
        try
        {
            await using var client = ClientCommandLine.CreateClient(url, loggerFactory, parseResult);
            await using var producer = await client.CreateProducerAsync(new ProducerOptions(topic), shutdown.Token);
            if (text is not null)
            {
                var payload = System.Text.Encoding.UTF8.GetBytes(text);
                var id = deliverAt is { } when
                    ? await producer.SendDelayedAsync(payload, when, key, cancellationToken: shutdown.Token)
                    : await producer.SendAsync(payload, key, cancellationToken: shutdown.Token);
                Console.WriteLine(id);
                return Exit.Ok;
            }
            return await ProduceManyAsync(producer, count!.Value, size, key, deliverAt, shutdown.Token);
        }
        catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
        {
            return Exit.Error(Exit.Failed, "stopped before every message was acknowledged.");
        }
        catch (Exception e) when (e is TieredClientException or ArgumentException or ObjectDisposedException)
        {
            return Exit.Error(Exit.Failed, await ClientCommandLine.ErrorMessageAsync(e, url));
        }
    }

    private static async Task<int> ProduceManyAsync(Producer producer, int count, int size, string? key, DateTimeOffset? deliverAt, CancellationToken cancellationToken)
    {
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        var sends = new Task<MessageId>[count];
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            if (deliverAt is { } when)
                sends[i] = producer.SendDelayedAsync(payload, when, key, cancellationToken: cancellationToken).AsTask();
            else
                sends[i] = producer.SendAsync(payload, key, cancellationToken: cancellationToken).AsTask();
        }
        var failed = 0;
        string? firstError = null;
        foreach (var send in sends)
        {
            try
            {
                await send;
            }
            catch (Exception e) when (e is TieredClientException or ObjectDisposedException)
            {
                failed++;
                firstError ??= e.Message;
            }
        }
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var acknowledged = count - failed;
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{acknowledged} of {count} messages ({(double)acknowledged * size / 1_048_576:F1} MiB) acknowledged by {producer.Topic} in {seconds:F2} s ({acknowledged / Math.Max(seconds, 1e-9):F0} msg/s)"));
        return failed == 0 ? Exit.Ok : Exit.Error(Exit.Failed, $"{failed} messages were not acknowledged; first error: {firstError}");
    }
}
