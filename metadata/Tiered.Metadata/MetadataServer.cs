using Microsoft.Extensions.Logging;

namespace Tiered.Metadata;

/// <summary>A metadata node plus its gRPC endpoint: what `tiered metadata` runs, and what `tiered standalone` embeds.</summary>
public sealed partial class MetadataServer : IAsyncDisposable
{
    /// <summary>The node's own store, used in-process (standalone) without a network hop.</summary>
    public IMetadataStore Store => throw new NotImplementedException();

    /// <summary>The gRPC address clients connect to, http://HOST:PORT.</summary>
    public string ClientAddress => throw new NotImplementedException();

    /// <summary>Starts the Raft node and the gRPC endpoint; returns once both listen (a leader may not be elected yet).</summary>
    public static Task<MetadataServer> StartAsync(MetadataNodeOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Completes when a leader is known to this node (or throws on timeout).</summary>
    public Task WaitForLeaderAsync(TimeSpan timeout, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
