using System.CommandLine;
using System.Text;
using Tiered.Client;

namespace Tiered.Cli.Messaging;

/// <summary><c>tiered consume</c>: prints and acknowledges the messages of a subscription.</summary>
internal static class ConsumeCommand
{
    public static Command Create()
    {
        var topic = ClientCommandLine.Topic();
        var subscription = new Option<string>("--subscription", "-s")
        {
            HelpName = "NAME",
            Description = "The durable subscription to consume from (created if missing).",
            Required = true,
        };
        var type = ClientCommandLine.SubscriptionTypeOption();
        var keyHashRanges = ClientCommandLine.KeyHashRangeOption();
        var count = new Option<int?>("--count", "-n")
        {
            HelpName = "N",
            Description = "Exit 0 once N messages were received and acknowledged (default: run until Ctrl-C).",
        };
        count.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1)
                result.AddError("--count must be 1 or more.");
        });
        var from = new Option<string>("--from")
        {
            HelpName = "earliest|latest",
            Description = "Where a subscription that does not exist yet starts: the oldest message retained, or after the last one.",
            DefaultValueFactory = _ => "latest",
        };
        from.AcceptOnlyFromAmong("earliest", "latest");
        var replicate = new Option<bool>("--replicate-subscription-state")
        {
            Description = "Geo-replication: keep the subscription's position in step across the namespace's clusters, so that a consumer "
                + "in another cluster continues near where this one was (the subscription stays replicated).",
        };
        var url = ClientCommandLine.Url();
        var command = new Command(
            "consume",
            "Receive messages from a subscription of a topic, print each (id, key, payload as text, or its size and first bytes "
            + "when it is not text) and acknowledge it (--nack: negatively acknowledge it). Runs until --count messages were received, or until Ctrl-C.")
        {
            topic, subscription, type, keyHashRanges, count, from, replicate, url,
        };
        var nacks = new NegativeAckCommandLine();
        nacks.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new ConsumerOptions(parseResult.GetValue(topic)!, parseResult.GetValue(subscription)!)
            {
                Type = parseResult.GetValue(type),
                InitialPosition = parseResult.GetValue(from) == "earliest" ? SubscriptionInitialPosition.Earliest : SubscriptionInitialPosition.Latest,
                ReplicateSubscriptionState = parseResult.GetValue(replicate),
                KeyHashRanges = parseResult.GetValue(keyHashRanges) ?? [],
            },
            nacks,
            parseResult.GetValue(count),
            parseResult.GetValue(url)!,
            parseResult,
            cancellationToken));
        TokenOptions.AddTo(command);
        TlsTrustOption.AddTo(command);
        return command;
    }

    private static async Task<int> RunAsync(ConsumerOptions options, NegativeAckCommandLine nacks, int? count, string url, ParseResult parseResult, CancellationToken cancellationToken)
    {
        var nack = parseResult.GetValue(nacks.Nack);
        try
        {
            options = nacks.Apply(options, parseResult);
            options.Validate();
        }
        catch (ArgumentException e)
        {
            return Exit.Error(Exit.BadOptions, e.Message);
        }
        // Redelivery counts are shown when the options make them interesting.
        var showRedeliveries = nack || options.DeadLetterPolicy is not null || options.AckTimeout is not null || options.NegativeAckDelay is not null;
        using var loggerFactory = ConsoleLogging.CreateFactory(parseResult);
        using var shutdown = new Shutdown(cancellationToken);
        var received = 0;
        // Printed lines are flushed, and handled messages acknowledged, in batches: before each wait for more
        // messages and at least every AckBatcher.BatchSize messages, instead of a write and a round trip each.
        using var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 64 * 1024);
        try
        {
            await using var client = ClientCommandLine.CreateClient(url, loggerFactory, parseResult);
            await using var consumer = await client.SubscribeAsync(options, shutdown.Token);
            var acks = new AckBatcher(consumer);
            try
            {
                while (count is null || received < count)
                {
                    var next = consumer.ReceiveAsync(shutdown.Token);
                    if (!next.IsCompleted)
                    {
                        await output.FlushAsync(CancellationToken.None);
                        await acks.SendAsync();
                    }
                    var message = await next;
                    output.Write(message.Id.ToString());
                    if (message.Key is not null)
                        output.Write($" key={message.Key}");
                    if (showRedeliveries && message.RedeliveryCount > 0)
                        output.Write($" redelivery={message.RedeliveryCount}");
                    output.Write(' ');
                    output.WriteLine(ClientCommandLine.Describe(message.Payload.Span));
                    if (nack)
                        await consumer.NegativeAcknowledgeAsync(message);
                    else
                        await acks.AddAsync(message);
                    received++;
                }
            }
            finally
            {
                await output.FlushAsync(CancellationToken.None);
                // What was printed is acknowledged, on Ctrl-C too.
                await acks.DrainAsync();
            }
            return Exit.Ok;
        }
        catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
        {
            if (count is not null && received < count)
                return Exit.Error(Exit.Failed, $"stopped after {received} of {count} messages.");
            return Exit.Ok;
        }
        catch (Exception e) when (e is TieredClientException or ArgumentException or ObjectDisposedException)
        {
            return Exit.Error(Exit.Failed, await ClientCommandLine.ErrorMessageAsync(e, url));
        }
    }
}
