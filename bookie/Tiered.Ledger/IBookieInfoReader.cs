using Tiered.Bookie.V1;

namespace Tiered.Ledger;

/// <summary>
/// Asks bookies about themselves (as BookKeeper's client BookieInfoReader does): what the admin API
/// reports per bookie. <see cref="LedgerClient"/> implements it over its bookie connections.
/// </summary>
public interface IBookieInfoReader
{
    /// <summary>The bookie's own answer: id, state, disk used and free (bytes, of the disk holding its data), ledger count.</summary>
    /// <exception cref="LedgerException">The bookie did not answer within <paramref name="timeout"/>, refused, or its id is not HOST:PORT.</exception>
    Task<InfoResponse> GetBookieInfoAsync(string bookieId, TimeSpan timeout, CancellationToken cancellationToken = default);
}
