using Microsoft.Extensions.Logging;

namespace Tiered.Client;

/// <summary>How a <see cref="TieredClient"/> reaches the cluster and how patiently it retries. Change it with <c>with</c>.</summary>
public sealed record TieredClientOptions
{
    public const string DefaultServiceUrl = "http://127.0.0.1:6650";

    /// <summary>
    /// Any broker's gRPC address, or several (<c>http://a:6650,b:6650,c:6650</c>, or each host with its own scheme:
    /// <c>http://a:6650,http://b:6650</c>; see <see cref="ServiceUrls"/>). Topics are looked up there and served by the
    /// broker the lookup names. With several hosts a lookup goes on at the next one when a host cannot answer, so the
    /// client outlives any one broker of the list.
    /// </summary>
    public string ServiceUrl { get; init; } = DefaultServiceUrl;

    /// <summary>How long opening a producer or consumer, a lookup, an acknowledgement or a seek may take before it fails.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Shortest wait before reconnecting a producer or consumer whose stream failed. The waits grow with jitter while
    /// failures go on (each drawn between this and three times the previous one), up to <see cref="ReconnectMaxBackoff"/>,
    /// and start again from this once a stream opens.
    /// </summary>
    public TimeSpan ReconnectInitialBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between reconnection attempts.</summary>
    public TimeSpan ReconnectMaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often an idle connection to a broker is pinged (HTTP/2 PING, as Pulsar's keepAliveInterval); a broker that
    /// does not answer within the same time (at most 10 s) is dropped, and its producers and consumers look their
    /// topics up again. This is what notices a broker that hangs or is cut off without closing its connections.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The authentication token (a JWT from <c>tiered tokens create</c>) sent as <c>authorization: Bearer …</c> on every
    /// call. Brokers with authentication on check it (a broker without ignores it). Give this or <see cref="TokenFile"/>; with
    /// neither, the environment variable <c>TIERED_TOKEN</c> is used when set.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>
    /// A file holding the token (surrounding white space ignored). Read again for each lookup and each new stream, so a
    /// token rotated by rewriting the file is used from the next connection on, without restarting the application.
    /// </summary>
    public string? TokenFile { get; init; }

    /// <summary>
    /// A PEM file of the CA certificates that signed the brokers' certificates, for https:// service URLs and brokers
    /// that a lookup says serve TLS (Pulsar's tlsTrustCertsFilePath). A broker's certificate must chain to one of them
    /// and name the host dialled; validation is never skipped. Null: the system's trusted roots. Read when the client
    /// is created.
    /// </summary>
    public string? TlsTrustCertsFile { get; init; }

    /// <summary>
    /// A client certificate (PEM; may be followed by its intermediate CAs) presented to brokers that ask for one in the
    /// TLS handshake, with <see cref="TlsKeyFile"/> (Pulsar's tlsCertificateFilePath). A broker started with
    /// <c>--tls-client-ca-file</c> authenticates a request without a token by it: the role is the certificate's subject
    /// CN. Read when the client is created.
    /// </summary>
    public string? TlsCertificateFile { get; init; }

    /// <summary>The private key of <see cref="TlsCertificateFile"/> (PEM, unencrypted).</summary>
    public string? TlsKeyFile { get; init; }

    /// <summary>Where the client logs reconnections and failures; none when null.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        if (!ServiceUrls.TryParse(ServiceUrl, out _, out var error))
            throw new ArgumentException($"ServiceUrl {error}", nameof(ServiceUrl));
        if (OperationTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"OperationTimeout must be positive, not {OperationTimeout}.", nameof(OperationTimeout));
        if (KeepAliveInterval < TimeSpan.FromMilliseconds(100))
            throw new ArgumentException($"KeepAliveInterval must be at least 100 ms, not {KeepAliveInterval}.", nameof(KeepAliveInterval));
        if (ReconnectInitialBackoff <= TimeSpan.Zero)
            throw new ArgumentException($"ReconnectInitialBackoff must be positive, not {ReconnectInitialBackoff}.", nameof(ReconnectInitialBackoff));
        if (ReconnectMaxBackoff < ReconnectInitialBackoff)
            throw new ArgumentException($"ReconnectMaxBackoff ({ReconnectMaxBackoff}) must be at least ReconnectInitialBackoff ({ReconnectInitialBackoff}).", nameof(ReconnectMaxBackoff));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        if (string.IsNullOrWhiteSpace(TlsCertificateFile) != string.IsNullOrWhiteSpace(TlsKeyFile))
            throw new ArgumentException("Give TlsCertificateFile and TlsKeyFile together (the client certificate and its private key), or neither.", nameof(TlsKeyFile));
        if (!string.IsNullOrWhiteSpace(Token) && !string.IsNullOrWhiteSpace(TokenFile))
            throw new ArgumentException("Give Token or TokenFile, not both.", nameof(TokenFile));
        // Never the token itself in the message.
        if (Token is not null && Token.Trim().AsSpan().IndexOfAny('\r', '\n') >= 0)
            throw new ArgumentException("Token must be one line: a JWT has no line breaks.", nameof(Token));
    }
}
