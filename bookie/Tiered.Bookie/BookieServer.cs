using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tiered.Bookie.Storage;
using Tiered.Hosting;
using Tiered.Ledger;
using Tiered.Metadata;

namespace Tiered.Bookie;

/// <summary>A host that runs one bookie and nothing else: for tests and tools that embed a bookie in their own process.</summary>
public sealed class BookieServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly BookieHost _bookie;

    private BookieServer(WebApplication app) => (_app, _bookie) = (app, app.Services.GetRequiredService<BookieHost>());

    public string BookieId => _bookie.BookieId;

    /// <summary>
    /// This bookie's service for callers in the same process, without the network: the same
    /// instance the gRPC endpoint serves, so the same semantics. Pass it as
    /// <see cref="LedgerClientOptions.LocalBookies"/>.
    /// </summary>
    public CallInvoker LocalInvoker => _bookie.LocalInvoker;

    /// <summary>This bookie's auto-recovery role (null when <see cref="BookieOptions.AutoRecovery"/> is off).</summary>
    public AutoRecovery? AutoRecovery => _bookie.AutoRecovery;

    /// <summary>Starts a bookie. <paramref name="metadata"/>: an existing store to register in (not owned); default: a client to <see cref="BookieOptions.Metadata"/>.</summary>
    public static Task<BookieServer> StartAsync(BookieOptions options, ILoggerFactory loggerFactory, IMetadataStore? metadata = null, CancellationToken cancellationToken = default)
        => StartAsync(options, loggerFactory, metadata, journalHooks: null, cancellationToken);

    internal static async Task<BookieServer> StartAsync(BookieOptions options, ILoggerFactory loggerFactory, IMetadataStore? metadata, JournalTestHooks? journalHooks, CancellationToken cancellationToken = default)
    {
        var builder = TieredHost.CreateBuilder(loggerFactory: loggerFactory);
        if (metadata is not null)
            builder.Services.AddSingleton(metadata);
        if (journalHooks is not null)
            builder.Services.AddSingleton(journalHooks);
        builder.AddTieredBookie(options);
        return new BookieServer(await TieredHost.StartAsync(builder, cancellationToken).ConfigureAwait(false));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
