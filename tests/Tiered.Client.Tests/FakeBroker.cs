using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tiered.V1;

namespace Tiered.Client.Tests;

/// <summary>
/// A test double of the Messaging service in a real Kestrel server on 127.0.0.1 (a free port): it stores
/// batches in memory, one ledger per topic, answers in the contract's shapes, and records every request so
/// tests can assert on the frames the client sent. Switches let tests hold receipts, cut streams or refuse.
/// </summary>
internal sealed partial class FakeBroker : Messaging.MessagingBase, IAsyncDisposable
{
    public const long LedgerId = 7;

    private readonly ConcurrentDictionary<string, TopicLog> _topics = new(StringComparer.Ordinal);
    private WebApplication? _app;

    public string Url { get; private set; } = "";

    /// <summary>Partition counts that Lookup reports; topics not listed have none.</summary>
    public ConcurrentDictionary<string, int> Partitions { get; } = new(StringComparer.Ordinal);

    public static async Task<FakeBroker> StartAsync()
    {
        var broker = new FakeBroker();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1));
        builder.Services.AddGrpc(o => o.Interceptors.Add<AuthorizationRecorder>());
        builder.Services.AddSingleton(broker);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.MapGrpcService<FakeBroker>();
        await app.StartAsync();
        broker._app = app;
        broker.Url = app.Urls.First();
        return broker;
    }

    public async ValueTask DisposeAsync()
    {
        KillConsumeStreams();
        if (_app is not null)
            await _app.DisposeAsync();
    }

    public TopicLog Topic(string name) => _topics.GetOrAdd(name, n => new TopicLog(n));

    /// <summary>When set, Lookup sends clients to this broker: a LookupResponse as it is, its topic and partitions filled in.</summary>
    public LookupResponse? LookupAnswer { get; set; }

    /// <summary>When set and it returns an exception, Lookup fails with it (e.g. a redirect to the topic's owner).</summary>
    public Func<LookupRequest, RpcException?>? RefuseLookup { get; set; }

    public int Lookups => Volatile.Read(ref _lookups);

    private int _lookups;

    public override Task<LookupResponse> Lookup(LookupRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref _lookups);
        if (RefuseLookup?.Invoke(request) is { } refusal)
            throw refusal;
        if (request.Topic.Contains(' ', StringComparison.Ordinal))
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"'{request.Topic}' is not a valid topic name"));
        var response = LookupAnswer?.Clone() ?? new LookupResponse { BrokerUrl = Url };
        response.Topic = request.Topic;
        response.Partitions = Partitions.TryGetValue(request.Topic, out var n) ? n : 0;
        return Task.FromResult(response);
    }

    public override Task<GetLastMessageIdResponse> GetLastMessageId(GetLastMessageIdRequest request, ServerCallContext context)
    {
        var log = Topic(request.Topic);
        var last = log.Last();
        return Task.FromResult(new GetLastMessageIdResponse
        {
            MessageId = last is null
                ? new V1.MessageId { LedgerId = -1, EntryId = -1, Partition = -1 }
                : new V1.MessageId { LedgerId = LedgerId, EntryId = last.EntryId, Partition = -1, BatchSize = last.Batch.Messages.Count },
        });
    }

    public List<SeekRequest> Seeks { get; } = [];

    public override Task<SeekResponse> Seek(SeekRequest request, ServerCallContext context)
    {
        lock (Seeks)
            Seeks.Add(request);
        return Task.FromResult(new SeekResponse());
    }

    /// <summary>One topic's entries in order.</summary>
    internal sealed class TopicLog(string name)
    {
        private readonly List<StoredEntry> _entries = [];
        private readonly Dictionary<(string, ulong), long> _bySequence = [];
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name { get; } = name;

        public int Count
        {
            get
            {
                lock (_entries)
                    return _entries.Count;
            }
        }

        /// <summary>Stores a batch unless this producer stored the same sequence id before (de-duplication); returns its entry id.</summary>
        public long Append(MessageBatch batch)
        {
            TaskCompletionSource changed;
            long id;
            lock (_entries)
            {
                if (batch.ProducerName.Length > 0 && _bySequence.TryGetValue((batch.ProducerName, batch.SequenceId), out var existing))
                    return existing;
                id = _entries.Count;
                _entries.Add(new StoredEntry(id, batch));
                if (batch.ProducerName.Length > 0)
                    _bySequence[(batch.ProducerName, batch.SequenceId)] = id;
                changed = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            changed.TrySetResult();
            return id;
        }

        public StoredEntry? At(int index)
        {
            lock (_entries)
                return index < _entries.Count ? _entries[index] : null;
        }

        public StoredEntry? Last()
        {
            lock (_entries)
                return _entries.Count == 0 ? null : _entries[^1];
        }

        public List<StoredEntry> Snapshot()
        {
            lock (_entries)
                return [.. _entries];
        }

        /// <summary>Completes when an entry is appended after the call.</summary>
        public Task Changed
        {
            get
            {
                lock (_entries)
                    return _changed.Task;
            }
        }
    }

    internal sealed record StoredEntry(long EntryId, MessageBatch Batch);
}
