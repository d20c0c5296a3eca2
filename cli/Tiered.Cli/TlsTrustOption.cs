using System.CommandLine;
using Tiered.Client;
using Tiered.Proto.Tls;

namespace Tiered.Cli;

/// <summary>
/// <c>--tls-trust-certs-file</c> of the client commands (produce, consume, perf, admin), as Pulsar's
/// <c>--tls-trust-cert-path</c>: the CA certificates https:// brokers are checked against (the system's roots when
/// absent). The server certificate is always verified, host name included.
/// </summary>
internal static class TlsTrustOption
{
    public static readonly Option<string?> TrustCertsFile = new("--tls-trust-certs-file")
    {
        HelpName = "PEM",
        Description = "CA certificates (PEM) to verify the brokers' TLS certificates with, for https:// URLs and brokers serving TLS "
            + "(default: the system's trusted roots). The certificate must also name the host in the URL.",
        Recursive = true,
    };

    static TlsTrustOption()
    {
        // A file that cannot be used is a bad option (exit 2) before anything connects.
        TrustCertsFile.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is not { Length: > 0 } path)
                return;
            try
            {
                TlsTrust.Load(path);
            }
            catch (ArgumentException e)
            {
                result.AddError(e.Message.Replace("TlsTrustCertsFile (--tls-trust-certs-file)", "--tls-trust-certs-file", StringComparison.Ordinal));
            }
        });
    }

    public static void AddTo(Command command) => command.Options.Add(TrustCertsFile);

    /// <summary>The trusted CAs of --tls-trust-certs-file, or null; throws <see cref="ArgumentException"/> naming the file when it is unusable.</summary>
    public static TlsTrust? Resolve(ParseResult parseResult)
        => parseResult.GetValue(TrustCertsFile) is { Length: > 0 } path ? TlsTrust.Load(path) : null;
}
