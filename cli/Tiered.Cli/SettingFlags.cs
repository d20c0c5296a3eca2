using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Tiered.Hosting;

namespace Tiered.Cli;

/// <summary>
/// The flags of a server command, each bound to a configuration key (<c>--grpc-listen</c> →
/// <c>Broker:GrpcListen</c>), plus <c>--config FILE</c>. A flag's default sits below the config
/// file and the <c>TIERED_</c> environment variables; a flag given on the command line above them.
/// </summary>
internal sealed class SettingFlags
{
    private readonly List<Action<ParseResult, FlagSettings, FlagSettings>> _mappings = [];

    public Option<string?> Config { get; } = new("--config")
    {
        HelpName = "FILE",
        Description = "A JSON file of settings, by role: {\"Broker\": {\"GrpcListen\": \"0.0.0.0:6650\"}}. Environment variables "
            + "(TIERED_BROKER__GRPCLISTEN) override it, and flags given here override both.",
    };

    /// <summary>Every option, to add to the command.</summary>
    public List<Option> All { get; } = [];

    /// <summary>
    /// Binds <paramref name="option"/> to <paramref name="key"/>; <paramref name="format"/> turns its value into the
    /// setting's text, or null to leave the setting alone (a switch that is off: its setting keeps its default).
    /// </summary>
    public Option<T> Add<T>(Option<T> option, string key, Func<T, string?>? format = null)
    {
        All.Add(option);
        format ??= value => Convert.ToString(value, CultureInfo.InvariantCulture);
        _mappings.Add((parseResult, defaults, given) =>
        {
            if (parseResult.GetResult(option) is not { } result || format(parseResult.GetValue(option)!) is not { } value)
                return;
            (result.Implicit ? defaults : given).Set(key, value, option.Name);
        });
        return option;
    }

    /// <summary>Binds a comma-separated list flag to the list setting <paramref name="key"/>.</summary>
    public Option<string> AddList(Option<string> option, string key)
    {
        All.Add(option);
        _mappings.Add((parseResult, defaults, given) =>
        {
            if (parseResult.GetResult(option) is not { } result)
                return;
            var items = parseResult.GetValue(option)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            (result.Implicit ? defaults : given).SetList(key, items, option.Name);
        });
        return option;
    }

    /// <summary>Adds the flags and --config to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in All)
            command.Options.Add(option);
        command.Options.Add(Config);
    }

    /// <summary>The command's configuration (throws <see cref="SettingsException"/> for a missing or malformed config file).</summary>
    public IConfigurationRoot Build(ParseResult parseResult)
    {
        var defaults = new FlagSettings(defaults: true);
        var given = new FlagSettings(defaults: false);
        foreach (var map in _mappings)
            map(parseResult, defaults, given);
        return TieredSettings.Build(defaults, parseResult.GetValue(Config), given);
    }

    /// <summary>
    /// <c>--tls-cert-file</c> and <c>--tls-key-file</c>, which every server command takes (<see cref="TlsOptions"/>):
    /// with both, every listener of the process serves TLS.
    /// </summary>
    public void AddTls()
    {
        Add(new Option<string?>("--tls-cert-file")
        {
            HelpName = "PEM",
            Description = "Serve TLS on every listener (gRPC over HTTP/2 with ALPN, HTTP as HTTPS) with this certificate (PEM; may be followed by its "
                + "intermediate CAs). Needs --tls-key-file. Advertised URLs become https://; clients trust the CA with --tls-trust-certs-file.",
        }, $"{TlsOptions.Section}:CertFile");
        Add(new Option<string?>("--tls-key-file")
        {
            HelpName = "PEM",
            Description = "The private key of --tls-cert-file (PEM, unencrypted).",
        }, $"{TlsOptions.Section}:KeyFile");
    }

    /// <summary><c>--tls-trust-certs-file</c> of the roles that connect to other components (bookie, broker, standalone).</summary>
    public void AddTlsTrust() => Add(new Option<string?>("--tls-trust-certs-file")
    {
        HelpName = "PEM",
        Description = "CA certificates (PEM) of the other components' TLS certificates: given, this process reaches the metadata service and the bookies "
            + "over TLS (https://), verifying their certificates against these CAs, and replicators verify https:// remote clusters with them.",
    }, $"{TlsOptions.Section}:TrustCertsFile");

    public static string Seconds(int seconds) => TimeSpan.FromSeconds(seconds).ToString("c", CultureInfo.InvariantCulture);

    public static string Milliseconds(long milliseconds) => TimeSpan.FromMilliseconds(milliseconds).ToString("c", CultureInfo.InvariantCulture);

    public static string Mebibytes(int mebibytes) => (mebibytes * 1024L * 1024).ToString(CultureInfo.InvariantCulture);
}
