using Tiered.Bookie.V1;
using Tiered.Ledger;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// The bookie reader of <see cref="AdminApiServer"/>, which has no broker: every bookie is "not answering"
/// (the registrations its tests write name addresses that must not be dialled).
/// </summary>
internal sealed class UnaskedBookies : IBookieInfoReader
{
    public Task<InfoResponse> GetBookieInfoAsync(string bookieId, TimeSpan timeout, CancellationToken cancellationToken = default)
        => Task.FromException<InfoResponse>(new LedgerException("This test host has no broker to ask bookies."));
}
