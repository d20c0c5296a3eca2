using System.Diagnostics;
using Tiered.Client;
using Tiered.Testing;

namespace Tiered.Bench.Compare;

/// <summary>
/// <c>tiered standalone</c> (Release CLI) as a child process, driven by Tiered.Client: a stream is a
/// persistent topic, a subscription an Exclusive durable subscription acknowledged in lists of 100.
/// </summary>
public sealed class TieredSystem : IMessagingSystem
{
    private const int AckBatch = 100;

    private Standalone? _standalone;
    private TieredClient? _client;

    public string Name => "Tiered";

    public string Version { get; private set; } = "?";

    public string Durability => "fsync before every ack (standalone: 1 bookie; its journal group-commits, one fsync for all entries queued)";

    public string BestConfiguration => "client batching on, 1,000 in flight";

    public int ServerPid => _standalone?.Process?.Pid ?? 0;

    private TieredClient Client => _client ?? throw new InvalidOperationException("Tiered is not started.");

    public async Task StartAsync(string dataDir, CancellationToken cancellationToken)
    {
        // Standalone makes its data directory under TMPDIR, which BenchDirectory points at the probed directory.
        _standalone = new Standalone();
        await _standalone.StartAsync();
        _client = new TieredClient(_standalone.Url);
        Version = $"git {await GitCommitAsync()}";
    }

    public async Task StopAsync()
    {
        if (_client is not null)
            await _client.DisposeAsync();
        _client = null;
        _standalone?.Dispose();
        _standalone = null;
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    public async Task CreateStreamAsync(string stream, int subscriptions, CancellationToken cancellationToken)
    {
        for (var i = 0; i < subscriptions; i++)
        {
            await using var consumer = await Client.SubscribeAsync(Options(stream, i), cancellationToken);
        }
    }

    /// <summary>Nothing to do: the topics stay until the standalone is stopped and its data directory deleted.</summary>
    public Task DeleteStreamAsync(string stream, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<IBenchPublisher> CreatePublisherAsync(string stream, int window, bool best, CancellationToken cancellationToken)
    {
        var producer = await Client.CreateProducerAsync(
            new ProducerOptions(Topic(stream)) { BatchingEnabled = best, MaxPendingMessages = window }, cancellationToken);
        return new Publisher(producer);
    }

    public async Task<IAsyncDisposable> ConsumeAsync(string stream, int subscription, DeliveryCounter counter, CancellationToken cancellationToken)
    {
        var consumer = await Client.SubscribeAsync(Options(stream, subscription), cancellationToken);
        return new Subscriber(consumer, counter);
    }

    private static string Topic(string stream) => $"persistent://public/default/{stream}";

    private static ConsumerOptions Options(string stream, int subscription) =>
        new(Topic(stream), FormattableString.Invariant($"sub-{subscription}")) { InitialPosition = SubscriptionInitialPosition.Earliest };

    private static async Task<string> GitCommitAsync()
    {
        var info = new ProcessStartInfo("git", ["-C", TieredProcess.RepositoryRoot, "rev-parse", "--short", "HEAD"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        try
        {
            using var git = Process.Start(info);
            if (git is null)
                return "?";
            var output = await git.StandardOutput.ReadToEndAsync();
            await git.WaitForExitAsync();
            return git.ExitCode == 0 ? output.Trim() : "?";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "?";
        }
    }

    private sealed class Publisher(Producer producer) : IBenchPublisher
    {
        public async ValueTask PublishAsync(ReadOnlyMemory<byte> payload) => await producer.SendAsync(payload).ConfigureAwait(false);

        public ValueTask DisposeAsync() => producer.DisposeAsync();
    }

    private sealed class Subscriber : IAsyncDisposable
    {
        private readonly Consumer _consumer;
        private readonly DeliveryCounter _counter;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public Subscriber(Consumer consumer, DeliveryCounter counter)
        {
            (_consumer, _counter) = (consumer, counter);
            _loop = Task.Run(ReceiveAsync);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            await _consumer.DisposeAsync();
            _stop.Dispose();
        }

        private async Task ReceiveAsync()
        {
            var toAck = new List<ReceivedMessage>(AckBatch);
            try
            {
                while (true)
                {
                    var message = await _consumer.ReceiveAsync(_stop.Token).ConfigureAwait(false);
                    _counter.Add();
                    toAck.Add(message);
                    if (toAck.Count == AckBatch)
                    {
                        _ = AcknowledgeAsync(toAck);
                        toAck = new List<ReceivedMessage>(AckBatch);
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
        }

        private async Task AcknowledgeAsync(List<ReceivedMessage> messages)
        {
            try
            {
                await _consumer.AcknowledgeAsync(messages, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TieredClientException or ObjectDisposedException)
            {
                // An acknowledgement lost at shutdown only means redelivery, which this benchmark never waits for.
            }
        }
    }
}
