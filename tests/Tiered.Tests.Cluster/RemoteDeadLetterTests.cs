using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Tiered.Client;
using Tiered.Testing;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>
/// Dead-letter and retry topics owned by another broker of the cluster than the topic consumed: the owner of the
/// subscription produces to them over gRPC. Every message ends in the dead-letter topic exactly once and none stays on
/// the source subscription; a message reconsumed later goes to the remote retry topic.
/// </summary>
public sealed class RemoteDeadLetterTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Messages_move_to_dead_letter_and_retry_topics_another_broker_owns_exactly_once()
    {
        await using var cluster = await BrokerCluster.StartAsync(1, 1, 2, (1, 1, 1));
        await WithLogsOnFailure(cluster, () => Run(cluster));
    }

    /// <summary>Runs <paramref name="test"/>; when it fails, the cluster's processes' logs go to the test output first.</summary>
    private async Task WithLogsOnFailure(BrokerCluster cluster, Func<Task> test)
    {
        try
        {
            await test();
        }
        catch
        {
            log.WriteLine(cluster.Logs());
            throw;
        }
    }

    private async Task Run(BrokerCluster cluster)
    {
        var ns = await cluster.CreateNamespaceAsync("letters", bundles: 16);
        var topic = $"persistent://{ns}/source";
        await cluster.LookupAsync(0, topic);
        var sourceOwner = await cluster.OwnerAsync(topic);
        // Topics whose bundles another broker owns (a lookup places a bundle nobody owns yet).
        var elsewhere = new List<string>();
        for (var k = 0; elsewhere.Count < 2; k++)
        {
            Assert.True(k < 64, "no topic name found whose bundle another broker owns");
            var name = $"persistent://{ns}/letters-{k}";
            await cluster.LookupAsync(k % cluster.BrokerCount, name);
            if (await cluster.OwnerAsync(name) != sourceOwner)
                elsewhere.Add(name);
        }
        var (deadLetterTopic, retryTopic) = (elsewhere[0], elsewhere[1]);
        log.WriteLine($"{topic} on broker {sourceOwner}; dead letters to {deadLetterTopic}, retries to {retryTopic}");

        const int total = 100;
        await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = cluster.ServiceUrls, OperationTimeout = TimeSpan.FromSeconds(30) });
        await using (var producer = await client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = false }))
            await Task.WhenAll(Enumerable.Range(0, total).Select(i => producer.SendAsync(Encoding.UTF8.GetBytes($"m{i}")).AsTask()));

        // Each message of the dead-letter topic by payload: a payload stored twice there shows as two ids.
        var dead = new ConcurrentDictionary<string, ConcurrentDictionary<MessageId, bool>>();
        var retried = new ConcurrentDictionary<string, ConcurrentDictionary<MessageId, bool>>();
        using var stop = new CancellationTokenSource();
        await using var deadCheck = await client.SubscribeAsync(new ConsumerOptions(deadLetterTopic, "check") { Type = SubscriptionType.Shared, InitialPosition = SubscriptionInitialPosition.Earliest });
        await using var retryCheck = await client.SubscribeAsync(new ConsumerOptions(retryTopic, "check") { Type = SubscriptionType.Shared, InitialPosition = SubscriptionInitialPosition.Earliest });
        await using var nacking = await client.SubscribeAsync(new ConsumerOptions(topic, "s")
        {
            Type = SubscriptionType.Shared,
            InitialPosition = SubscriptionInitialPosition.Earliest,
            NegativeAckDelay = TimeSpan.FromMilliseconds(10),
            DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 2, DeadLetterTopic = deadLetterTopic },
        });
        await using var reconsuming = await client.SubscribeAsync(new ConsumerOptions(topic, "r")
        {
            Type = SubscriptionType.Shared,
            InitialPosition = SubscriptionInitialPosition.Earliest,
            DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 3, RetryLetterTopic = retryTopic },
        });
        var tasks = new[]
        {
            NackAllAsync(nacking, stop.Token),
            ReconsumeAllAsync(reconsuming, stop.Token),
            CollectAsync(deadCheck, dead, stop.Token),
            CollectAsync(retryCheck, retried, stop.Token),
        };

        await Until(() => dead.Count == total && retried.Count == total, () => $"all {total} messages in the dead-letter topic ({dead.Count}) and in the retry topic ({retried.Count})");
        // Settled: the source subscriptions hold nothing (then no move is left to make a duplicate).
        await Until(async () => Backlog(await cluster.TopicStatsAsync(topic), "s") == 0 && Backlog(await cluster.TopicStatsAsync(topic), "r") == 0,
            "the source subscriptions' backlogs at 0");
        await stop.CancelAsync();
        await Task.WhenAll(tasks);
        foreach (var (what, letters) in new[] { ("dead-letter", dead), ("retry", retried) })
        {
            Assert.Equal(Enumerable.Range(0, total).Select(i => $"m{i}").Order(), letters.Keys.Order());
            Assert.All(letters, d => Assert.True(d.Value.Count == 1, $"{d.Key} is in the {what} topic {d.Value.Count} times"));
        }
        // The moves were made by the source's owner over gRPC, not by a local load of the letter topics.
        Assert.NotEqual(sourceOwner, await cluster.OwnerAsync(deadLetterTopic));
        Assert.NotEqual(sourceOwner, await cluster.OwnerAsync(retryTopic));
    }

    /// <summary>
    /// SIGKILL of the source topic's owner while it moves messages to a dead-letter topic another broker owns: the
    /// next owner of the source finishes the interrupted move (on its own topic with 2 brokers, where the dead-letter
    /// topic is local to it then; on a third broker's, usually, with 3, by the owner's de-duplication), so every
    /// message is there exactly once.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Moves_to_a_dead_letter_topic_another_broker_owns_survive_a_kill_of_the_source_owner(int brokers)
    {
        await using var cluster = await BrokerCluster.StartAsync(1, 1, brokers, (1, 1, 1));
        await WithLogsOnFailure(cluster, () => RunKill(cluster));
    }

    private async Task RunKill(BrokerCluster cluster)
    {
        var ns = await cluster.CreateNamespaceAsync("letters", bundles: 16);
        var topic = $"persistent://{ns}/source";
        await cluster.LookupAsync(0, topic);
        var sourceOwner = await cluster.OwnerAsync(topic);
        string? deadLetterTopic = null;
        for (var k = 0; deadLetterTopic is null; k++)
        {
            Assert.True(k < 64, "no topic name found whose bundle another broker owns");
            var name = $"persistent://{ns}/letters-{k}";
            await cluster.LookupAsync(k % cluster.BrokerCount, name);
            if (await cluster.OwnerAsync(name) != sourceOwner)
                deadLetterTopic = name;
        }
        var deadLetterOwner = await cluster.OwnerAsync(deadLetterTopic);

        const int total = 200;
        await using var client = new TieredClient(new TieredClientOptions
        {
            ServiceUrl = cluster.ServiceUrls,
            ReconnectInitialBackoff = TimeSpan.FromMilliseconds(50),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(500),
            OperationTimeout = TimeSpan.FromSeconds(60),
        });
        await using (var producer = await client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = false }))
            await Task.WhenAll(Enumerable.Range(0, total).Select(i => producer.SendAsync(Encoding.UTF8.GetBytes($"m{i}")).AsTask()));

        var dead = new ConcurrentDictionary<string, ConcurrentDictionary<MessageId, bool>>();
        using var stop = new CancellationTokenSource();
        await using var deadCheck = await client.SubscribeAsync(new ConsumerOptions(deadLetterTopic, "check") { Type = SubscriptionType.Shared, InitialPosition = SubscriptionInitialPosition.Earliest });
        await using var nacking = await client.SubscribeAsync(new ConsumerOptions(topic, "s")
        {
            Type = SubscriptionType.Shared,
            InitialPosition = SubscriptionInitialPosition.Earliest,
            NegativeAckDelay = TimeSpan.FromMilliseconds(10),
            DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 1, DeadLetterTopic = deadLetterTopic },
        });
        var tasks = new[] { NackAllAsync(nacking, stop.Token), CollectAsync(deadCheck, dead, stop.Token) };

        await Until(() => dead.Count >= total / 4, () => $"a quarter of the messages in the dead-letter topic ({dead.Count})");
        cluster.KillBroker(sourceOwner);
        Assert.True(dead.Count < total, "the kill came after every message was moved: it tests nothing");
        await Until(() => dead.Count == total, () => $"all {total} messages in the dead-letter topic ({dead.Count})");
        await Until(async () => Backlog(await cluster.TopicStatsAsync(topic), "s") == 0, "the source subscription's backlog at 0");
        var nextOwner = await cluster.OwnerAsync(topic);
        log.WriteLine($"source moved from broker {sourceOwner} to {nextOwner}; the dead-letter topic is on broker {deadLetterOwner} "
            + (nextOwner == deadLetterOwner ? "(its own topic now)" : "(still another broker's)"));
        // Whether the kill interrupted a move (the next owner says so when it resumes one) is up to timing; shown for the record.
        var resumed = (cluster.Broker(nextOwner)?.Output ?? "").Split('\n').Where(line => line.Contains("resuming the move", StringComparison.Ordinal)).ToList();
        log.WriteLine($"moves resumed: {resumed.Count}");
        foreach (var line in resumed)
            log.WriteLine(line);
        await stop.CancelAsync();
        await Task.WhenAll(tasks);
        Assert.Equal(Enumerable.Range(0, total).Select(i => $"m{i}").Order(), dead.Keys.Order());
        Assert.All(dead, d => Assert.True(d.Value.Count == 1, $"{d.Key} is in the dead-letter topic {d.Value.Count} times"));
    }

    /// <summary>
    /// Brokers that check tokens: the subscription's broker presents its component token (a super-user role) to the
    /// owner of the dead-letter topic; without it the owner would refuse the move (UNAUTHENTICATED) and nothing would
    /// arrive. The metadata service and the bookie of this cluster check no tokens; the brokers' clients must.
    /// </summary>
    [Fact]
    public async Task With_tokens_the_broker_presents_its_component_token_to_the_owner_of_the_dead_letter_topic()
    {
        var dir = Directory.CreateTempSubdirectory("tiered-remote-dlq-").FullName;
        try
        {
            var key = Tiered.Security.Tokens.SecretKey.Create();
            var keyFile = Path.Combine(dir, "secret.key");
            key.Write(keyFile);
            var token = Tiered.Security.Tokens.TokenIssuer.Create(key, "component");
            var tokenFile = Path.Combine(dir, "component.token");
            await File.WriteAllTextAsync(tokenFile, token);
            await using var cluster = await BrokerCluster.StartAsync(1, 1, 2, (1, 1, 1), 0,
                "--token-secret-key", keyFile, "--superuser-roles", "component", "--component-token-file", tokenFile);
            await WithLogsOnFailure(cluster, () => RunSecured(cluster, token));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private async Task RunSecured(BrokerCluster cluster, string token)
    {
        var channels = Enumerable.Range(0, cluster.BrokerCount).Select(b => Grpc.Net.Client.GrpcChannel.ForAddress(cluster.GrpcUrl(b))).ToArray();
        try
        {
            async Task<int> Owner(int broker, string topic)
            {
                var messaging = new Tiered.V1.Messaging.MessagingClient(Tiered.Proto.Auth.CallToken.Fixed(token).Intercept(channels[broker].CreateCallInvoker()));
                var answer = await messaging.LookupAsync(new Tiered.V1.LookupRequest { Topic = topic }, deadline: DateTime.UtcNow.AddSeconds(30));
                return cluster.IndexOf(answer.BrokerUrl);
            }

            var ns = await cluster.CreateNamespaceAsync("letters", bundles: 16);
            var topic = $"persistent://{ns}/source";
            var sourceOwner = await Owner(0, topic);
            string? deadLetterTopic = null;
            for (var k = 0; deadLetterTopic is null; k++)
            {
                Assert.True(k < 64, "no topic name found whose bundle another broker owns");
                var name = $"persistent://{ns}/letters-{k}";
                if (await Owner(k % cluster.BrokerCount, name) != sourceOwner && await Owner(sourceOwner, name) != sourceOwner)
                    deadLetterTopic = name;
            }

            const int total = 50;
            await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = cluster.ServiceUrls, Token = token, OperationTimeout = TimeSpan.FromSeconds(30) });
            await using (var producer = await client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = false }))
                await Task.WhenAll(Enumerable.Range(0, total).Select(i => producer.SendAsync(Encoding.UTF8.GetBytes($"m{i}")).AsTask()));
            var dead = new ConcurrentDictionary<string, ConcurrentDictionary<MessageId, bool>>();
            using var stop = new CancellationTokenSource();
            await using var deadCheck = await client.SubscribeAsync(new ConsumerOptions(deadLetterTopic, "check") { Type = SubscriptionType.Shared, InitialPosition = SubscriptionInitialPosition.Earliest });
            await using var nacking = await client.SubscribeAsync(new ConsumerOptions(topic, "s")
            {
                Type = SubscriptionType.Shared,
                InitialPosition = SubscriptionInitialPosition.Earliest,
                NegativeAckDelay = TimeSpan.FromMilliseconds(10),
                DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 1, DeadLetterTopic = deadLetterTopic },
            });
            var tasks = new[] { NackAllAsync(nacking, stop.Token), CollectAsync(deadCheck, dead, stop.Token) };
            await Until(() => dead.Count == total, () => $"all {total} messages in the dead-letter topic ({dead.Count})");
            await stop.CancelAsync();
            await Task.WhenAll(tasks);
            Assert.All(dead, d => Assert.True(d.Value.Count == 1, $"{d.Key} is in the dead-letter topic {d.Value.Count} times"));
            Assert.NotEqual(sourceOwner, await Owner(sourceOwner, deadLetterTopic));
        }
        finally
        {
            foreach (var channel in channels)
                channel.Dispose();
        }
    }

    private static long Backlog(string stats, string subscription)
    {
        using var json = JsonDocument.Parse(stats);
        return json.RootElement.GetProperty("subscriptions").GetProperty(subscription).GetProperty("msgBacklog").GetInt64();
    }

    private static async Task NackAllAsync(Consumer consumer, CancellationToken stop)
    {
        try
        {
            while (true)
                await consumer.NegativeAcknowledgeAsync(await consumer.ReceiveAsync(stop));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task ReconsumeAllAsync(Consumer consumer, CancellationToken stop)
    {
        try
        {
            while (true)
                await consumer.ReconsumeLaterAsync(await consumer.ReceiveAsync(stop), TimeSpan.Zero, cancellationToken: stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task CollectAsync(Consumer consumer, ConcurrentDictionary<string, ConcurrentDictionary<MessageId, bool>> letters, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                var message = await consumer.ReceiveAsync(stop);
                letters.GetOrAdd(Encoding.UTF8.GetString(message.Payload.Span), _ => new())[message.Id] = true;
                Assert.EndsWith("/source", message.Properties["REAL_TOPIC"]);
                try
                {
                    await consumer.AcknowledgeAsync(message, stop);
                }
                catch (TieredClientException)
                {
                    // Lost with a broker: delivered again, with the same id, which counts once.
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static Task Until(Func<bool> condition, Func<string> what) => Until(() => Task.FromResult(condition()), what);

    private static Task Until(Func<Task<bool>> condition, string what) => Until(condition, () => what);

    private static async Task Until(Func<Task<bool>> condition, Func<string> what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Waited {Wait.TotalSeconds} s for {what()}.");
            await Task.Delay(50);
        }
    }
}
