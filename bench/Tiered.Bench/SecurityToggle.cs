using Grpc.Core;
using Tiered.Client;
using Tiered.Security.Tokens;
using Tiered.Testing;

namespace Tiered.Bench;

/// <summary>
/// <c>tiered-bench security</c> (issue 15): publish throughput and latency with authentication and TLS off (an open
/// standalone, cleartext) and on (the standalone serves TLS with a certificate of a throw-away CA and checks tokens;
/// the benchmark's client connects over https:// trusting that CA and sends a super-user token). Each standalone is
/// first checked: with security on, a client without a token is refused; off, it may publish.
/// </summary>
public sealed class SecurityToggle : Toggle
{
    private const string Role = "bench";

    /// <summary>Made at first use: <see cref="ToggleCommand"/> creates a toggle for the command's help text too.</summary>
    private readonly Lazy<(TestCertificates Certificates, string KeyFile, string Token)> _secrets = new(() =>
    {
        var certificates = new TestCertificates();
        var key = SecretKey.Create();
        var keyFile = Path.Combine(certificates.Directory, "secret.key");
        key.Write(keyFile);
        return (certificates, keyFile, TokenIssuer.Create(key, Role));
    });

    public override string Command => "security";

    public override string Issue => "issue 15";

    public override string Feature => "auth+TLS";

    public override string Description =>
        "Publish throughput and latency of `tiered standalone` with authentication and TLS off and on in one run (issue 15): "
        + "the broker benchmark's 1 KB batched and 100 B unbatched phases, alternating off, on, off, on, each on a new standalone "
        + "and data directory; on: TLS with a certificate of a throw-away CA, a token key and a super-user token. Reports on ÷ off per phase "
        + "and the disk's limits measured in the same run.";

    public override string Setup =>
        "an open standalone (cleartext, no token) then one with `--tls-cert-file`/`--tls-key-file` (ECDSA P-256 certificate of a throw-away CA), "
        + "`--token-secret-key` and `--superuser-roles bench`, whose client connects to `https://` trusting the CA and sends an HS256 token of role `bench`";

    public override string CheckDescription =>
        "Each standalone was checked first: with auth+TLS on, a producer without a token is refused (UNAUTHENTICATED); off, it publishes.";

    /// <summary>The aim is for batched publishing; unbatched 100 B messages are reported for the per-message cost.</summary>
    public override bool Aimed(string phase) => phase == BrokerBenchOptions.Batched;

    public override string[] StandaloneArgs(bool on) => on
        ? ["--tls-cert-file", _secrets.Value.Certificates.ServerCertFile, "--tls-key-file", _secrets.Value.Certificates.ServerKeyFile,
           "--token-secret-key", _secrets.Value.KeyFile, "--superuser-roles", Role]
        : [];

    public override TieredClientOptions ClientOptions(Standalone standalone, bool on) => on
        ? new() { ServiceUrl = $"https://127.0.0.1:{standalone.GrpcPort}", TlsTrustCertsFile = _secrets.Value.Certificates.CaFile, Token = _secrets.Value.Token }
        : new() { ServiceUrl = standalone.Url };

    public override async Task CheckAsync(TieredClient client, Standalone standalone, bool on, CancellationToken cancellationToken)
    {
        var withoutToken = ClientOptions(standalone, on) with { Token = null };
        await using var anonymous = new TieredClient(withoutToken);
        const string topic = "persistent://public/default/bench-security-probe";
        try
        {
            await using var producer = await anonymous.CreateProducerAsync(new ProducerOptions(topic), cancellationToken);
            await producer.SendAsync(new byte[] { 1 }, cancellationToken: cancellationToken);
            if (on)
                throw new InvalidOperationException("A producer without a token published to the standalone started with --token-secret-key: the run would not compare what it says.");
        }
        catch (TieredClientException e) when (on && e.StatusCode == StatusCode.Unauthenticated)
        {
        }
        Console.Error.WriteLine(on
            ? $"  checked: auth+TLS is on ({withoutToken.ServiceUrl}; a producer without a token was refused)"
            : $"  checked: auth+TLS is off ({withoutToken.ServiceUrl}; a producer without a token published)");
    }

    public override void Dispose()
    {
        if (_secrets.IsValueCreated)
            _secrets.Value.Certificates.Dispose();
    }
}
