using System.CommandLine;
using System.CommandLine.Parsing;
using Tiered.Proto.Tls;

namespace Tiered.Cli;

/// <summary>
/// The TLS flags of the client commands (produce, consume, perf, admin): <c>--tls-trust-certs-file</c>, as Pulsar's
/// <c>--tls-trust-cert-path</c>, the CA certificates https:// brokers are checked against (the system's roots when
/// absent; the server certificate is always verified, host name included); and <c>--tls-cert-file</c> with
/// <c>--tls-key-file</c>, a client certificate presented to brokers that take it as the caller's identity (the same
/// names as the server commands' own certificate flags: these commands serve nothing, and the files play the same part).
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

    public static readonly Option<string?> CertFile = new("--tls-cert-file")
    {
        HelpName = "PEM",
        Description = "A client certificate (PEM) to present to brokers over TLS: a broker started with --tls-client-ca-file authenticates "
            + "requests without a token by it, as the role named by its subject's CN. Needs --tls-key-file.",
        Recursive = true,
    };

    public static readonly Option<string?> KeyFile = new("--tls-key-file")
    {
        HelpName = "PEM",
        Description = "The private key of --tls-cert-file (PEM, unencrypted).",
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
                result.AddError(CliNames(e.Message));
            }
        });
        CertFile.Validators.Add(result => ValidateCertificate(result, result.GetValueOrDefault<string?>(), result.GetValue(KeyFile)));
        KeyFile.Validators.Add(result =>
        {
            // The pair is checked once, on --tls-cert-file; here only a key without a certificate.
            if (string.IsNullOrWhiteSpace(result.GetValue(CertFile)))
                ValidateCertificate(result, null, result.GetValueOrDefault<string?>());
        });
    }

    public static void AddTo(Command command)
    {
        command.Options.Add(TrustCertsFile);
        command.Options.Add(CertFile);
        command.Options.Add(KeyFile);
    }

    /// <summary>The TLS settings of the flags, or null when none is given; throws <see cref="ArgumentException"/> naming a file that is unusable.</summary>
    public static ClientTls? Resolve(ParseResult parseResult)
        => ClientTls.Create(parseResult.GetValue(TrustCertsFile), parseResult.GetValue(CertFile), parseResult.GetValue(KeyFile));

    private static void ValidateCertificate(OptionResult result, string? certificateFile, string? keyFile)
    {
        try
        {
            ClientTls.LoadCertificate(certificateFile, keyFile).Certificate.Dispose();
        }
        catch (ArgumentException e)
        {
            result.AddError(CliNames(e.Message));
        }
    }

    /// <summary>Messages name the .NET client's option and the flag; on the command line only the flag.</summary>
    private static string CliNames(string message) => message
        .Replace(TlsTrust.OptionNames, "--tls-trust-certs-file", StringComparison.Ordinal)
        .Replace(ClientTls.CertificateOptionNames, "--tls-cert-file", StringComparison.Ordinal)
        .Replace(ClientTls.KeyOptionNames, "--tls-key-file", StringComparison.Ordinal);
}
