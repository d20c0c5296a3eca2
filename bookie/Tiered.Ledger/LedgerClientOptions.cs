using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Tiered.Ledger;

/// <summary>Settings of a <see cref="LedgerClient"/>; validated when the client is created.</summary>
public sealed record LedgerClientOptions
{
    /// <summary>Largest entry payload a bookie accepts (bookie.proto: 5 MiB).</summary>
    public const int MaxEntryBytes = 5 * 1024 * 1024;

    /// <summary>Adds a writer keeps in flight before <see cref="LedgerWriter.AddEntryAsync"/> waits (back-pressure).</summary>
    public int MaxPendingAdds { get; init; } = 10_000;

    /// <summary>How long to wait for a TCP connection to a bookie before treating it as down.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Deadline of one read from one bookie; past it the reader tries the next replica.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// An add not journaled by its whole write set within this time counts as a failure of the
    /// bookies that did not answer (a hung bookie must not stall the writer forever).
    /// </summary>
    public TimeSpan AddTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a bookie that failed a writer (broken stream, refusal, add timeout) is kept out of
    /// new ensembles and replacements while enough other bookies are registered; zero turns the
    /// quarantine off. A crashed bookie stays registered until its session expires, and new ledgers
    /// would keep choosing it meanwhile.
    /// </summary>
    public TimeSpan BookieQuarantineTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock of add timeouts and the quarantine; tests may pass a fake one.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Entries a reader fetches ahead of the one being consumed.</summary>
    public int ReadAheadEntries { get; init; } = 32;

    /// <summary>
    /// Bookies in this process, reached without the network: bookie id → an invoker over its
    /// service (<c>BookieServer.LocalInvoker</c>). Same semantics as gRPC, no HTTP/2 or serialization.
    /// </summary>
    public IReadOnlyDictionary<string, CallInvoker>? LocalBookies { get; init; }

    /// <summary>
    /// The CAs bookies' certificates must chain to (a role's <c>--tls-trust-certs-file</c>): bookies are then reached
    /// with TLS. Null: cleartext.
    /// </summary>
    public Tiered.Proto.Tls.TlsTrust? Tls { get; init; }

    /// <summary>
    /// The token every call to a bookie carries (a role's <c>--component-token-file</c>): bookies that check tokens
    /// accept only the cluster's own components. Null: none sent.
    /// </summary>
    public Tiered.Proto.Auth.CallToken? Token { get; init; }

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>Throws <see cref="ArgumentException"/> saying which setting is wrong.</summary>
    public void Validate()
    {
        if (MaxPendingAdds < 1)
            throw new ArgumentException($"MaxPendingAdds must be at least 1 (got {MaxPendingAdds}).");
        if (ConnectTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"ConnectTimeout must be positive (got {ConnectTimeout}).");
        if (AddTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"AddTimeout must be positive (got {AddTimeout}).");
        if (ReadTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"ReadTimeout must be positive (got {ReadTimeout}).");
        if (BookieQuarantineTime < TimeSpan.Zero)
            throw new ArgumentException($"BookieQuarantineTime must not be negative (got {BookieQuarantineTime}); use zero to turn the quarantine off.");
        if (ReadAheadEntries < 1)
            throw new ArgumentException($"ReadAheadEntries must be at least 1 (got {ReadAheadEntries}).");
    }
}
