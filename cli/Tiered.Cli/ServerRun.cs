using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tiered.Hosting;

namespace Tiered.Cli;

/// <summary>
/// Runs a server command: its configuration, one host with the roles it adds, the line it prints
/// once every role is up, and an orderly stop on SIGINT/SIGTERM. A bad setting exits with
/// <see cref="Exit.BadOptions"/> before anything starts, naming the setting and its source.
/// </summary>
internal static class ServerRun
{
    /// <param name="what">What runs, for messages ("bookie 127.0.0.1:3181").</param>
    /// <param name="addRoles">Binds the roles' options from the configuration and adds them to the builder.</param>
    /// <param name="readyLine">The line printed on stdout once started (scripts and tests wait for it).</param>
    public static async Task<int> RunAsync(ParseResult parseResult, SettingFlags flags, string what,
        Action<IConfiguration, WebApplicationBuilder> addRoles, Func<WebApplication, string> readyLine, CancellationToken cancellationToken)
    {
        using var loggerFactory = ConsoleLogging.CreateFactory(parseResult);
        var logger = loggerFactory.CreateLogger("Tiered.Cli");
        WebApplication app;
        try
        {
            var configuration = flags.Build(parseResult);
            var builder = TieredHost.CreateBuilder(configuration, loggerFactory);
            // Before the roles: they advertise https:// URLs when the listeners serve TLS.
            var tls = TieredSettings.Bind(configuration, TlsOptions.Section, new TlsOptions(), o => o.Validate());
            if (tls.Load() is { } certificate)
                TieredListeners.Of(builder).UseTls(certificate);
            // The roles' connections to other components use TLS with these CAs (MetadataClient, LedgerClient, replicators).
            if (!string.IsNullOrWhiteSpace(tls.TrustCertsFile))
                builder.Services.AddSingleton(LoadTrust(tls.TrustCertsFile));
            // ... and carry this token, when the metadata service and bookies check them (MetadataClient, LedgerClient).
            if (configuration[$"{Tiered.Security.Hosting.SecurityOptions.Section}:{nameof(Tiered.Security.Hosting.SecurityOptions.ComponentTokenFile)}"] is { Length: > 0 } componentToken)
                builder.Services.AddSingleton(Tiered.Proto.Auth.CallToken.FromFile(componentToken));
            addRoles(configuration, builder);
            app = TieredHost.Build(builder);
        }
        catch (Exception e) when (e is SettingsException or ArgumentException)
        {
            return Exit.Error(Exit.BadOptions, e.Message);
        }

        await using (app)
        {
            using var shutdown = new Shutdown(cancellationToken);
            using var idleMemory = IdleMemoryRelease.Start(logger);
            try
            {
                await app.StartAsync(shutdown.Token);
            }
            catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
            {
                await StopAfterFailedStartAsync(app, logger, what);
                return Exit.Ok;
            }
            catch (Exception e)
            {
                logger.Failed(e, what);
                await StopAfterFailedStartAsync(app, logger, what);
                return Exit.Error(Exit.Failed, $"{what} could not start: {Innermost(e).Message}");
            }
            Console.WriteLine(readyLine(app));
            await shutdown.WaitAsync();
            logger.Stopping(what);
            await app.StopAsync(CancellationToken.None);
        }
        logger.Stopped(what);
        return Exit.Ok;
    }

    private static Tiered.Proto.Tls.TlsTrust LoadTrust(string file)
    {
        try
        {
            return Tiered.Proto.Tls.TlsTrust.Load(file);
        }
        catch (ArgumentException e)
        {
            throw new SettingsException(e.Message.Replace("TlsTrustCertsFile (--tls-trust-certs-file)", "--tls-trust-certs-file", StringComparison.Ordinal));
        }
    }

    /// <summary>Stops the roles that did start (each stops only what it opened).</summary>
    private static async Task StopAfterFailedStartAsync(WebApplication app, ILogger logger, string what)
    {
        try
        {
            await app.StopAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.Failed(e, $"Stopping {what} after a failed start");
        }
    }

    /// <summary>Kestrel wraps "address in use" in an IOException whose own message is the useful one; unwrap aggregates.</summary>
    private static Exception Innermost(Exception e) => e is AggregateException { InnerExceptions.Count: 1 } aggregate ? Innermost(aggregate.InnerExceptions[0]) : e;
}
