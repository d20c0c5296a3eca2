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
/// <c>BENCH_SECURITY=auth</c> or <c>tls</c> turns on only tokens or only TLS, to tell their costs apart.
/// </summary>
public sealed class SecurityToggle : Toggle
{
    private const string Role = "bench";

    private readonly bool _auth;
    private readonly bool _tls;

    public SecurityToggle()
    {
        var only = Environment.GetEnvironmentVariable("BENCH_SECURITY");
        (_auth, _tls) = only switch
        {
            "auth" => (true, false),
            "tls" => (false, true),
            null or "" or "both" => (true, true),
            _ => throw new ArgumentException($"BENCH_SECURITY must be auth, tls or both (was '{only}')."),
        };
    }

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

    public override string Feature => (_auth, _tls) switch { (true, true) => "auth+TLS", (true, false) => "auth", _ => "TLS" };

    public override string Description =>
        "Publish throughput and latency of `tiered standalone` with authentication and TLS off and on in one run (issue 15): "
        + "the broker benchmark's 1 KB batched and 100 B unbatched phases, alternating off, on, off, on, each on a new standalone "
        + "and data directory; on: TLS with a certificate of a throw-away CA, a token key and a super-user token. Reports on ÷ off per phase "
        + "and the disk's limits measured in the same run.";

    public override string Setup => "an open standalone (cleartext, no token) then one with "
        + (_tls ? "`--tls-cert-file`/`--tls-key-file` (ECDSA P-256 certificate of a throw-away CA)" : "")
        + (_tls && _auth ? ", " : "")
        + (_auth ? "`--token-secret-key` and `--superuser-roles bench`" : "")
        + ", whose client " + (_tls ? "connects to `https://` trusting the CA" : "") + (_tls && _auth ? " and " : "") + (_auth ? "sends an HS256 token of role `bench`" : "");

    public override string CheckDescription => _auth
        ? $"Each standalone was checked first: with {Feature} on, a producer without a token is refused (UNAUTHENTICATED); off, it publishes."
        : "Each standalone was checked first: a producer publishes over the URL the run uses (https:// with TLS on).";

    /// <summary>The aim is for batched publishing; unbatched 100 B messages are reported for the per-message cost.</summary>
    public override bool Aimed(string phase) => phase == BrokerBenchOptions.Batched;

    public override string[] StandaloneArgs(bool on) =>
        [
            .. on && _tls ? ["--tls-cert-file", _secrets.Value.Certificates.ServerCertFile, "--tls-key-file", _secrets.Value.Certificates.ServerKeyFile] : Array.Empty<string>(),
            .. on && _auth ? ["--token-secret-key", _secrets.Value.KeyFile, "--superuser-roles", Role] : Array.Empty<string>(),
        ];

    public override TieredClientOptions ClientOptions(Standalone standalone, bool on) => new()
    {
        ServiceUrl = on && _tls ? $"https://127.0.0.1:{standalone.GrpcPort}" : standalone.Url,
        TlsTrustCertsFile = on && _tls ? _secrets.Value.Certificates.CaFile : null,
        Token = on && _auth ? _secrets.Value.Token : null,
    };

    public override async Task CheckAsync(TieredClient client, Standalone standalone, bool on, CancellationToken cancellationToken)
    {
        var withoutToken = ClientOptions(standalone, on) with { Token = null };
        await using var anonymous = new TieredClient(withoutToken);
        const string topic = "persistent://public/default/bench-security-probe";
        try
        {
            await using var producer = await anonymous.CreateProducerAsync(new ProducerOptions(topic), cancellationToken);
            await producer.SendAsync(new byte[] { 1 }, cancellationToken: cancellationToken);
            if (on && _auth)
                throw new InvalidOperationException("A producer without a token published to the standalone started with --token-secret-key: the run would not compare what it says.");
        }
        catch (TieredClientException e) when (on && _auth && e.StatusCode == StatusCode.Unauthenticated)
        {
        }
        Console.Error.WriteLine(on && _auth
            ? $"  checked: {Feature} is on ({withoutToken.ServiceUrl}; a producer without a token was refused)"
            : $"  checked: {Feature} is {(on ? "on" : "off")} ({withoutToken.ServiceUrl}; a producer without a token published)");
    }

    public override void Dispose()
    {
        if (_secrets.IsValueCreated)
            _secrets.Value.Certificates.Dispose();
    }
}
