using Grpc.Core;
using Tiered.Bookie.V1;
using BookieRpc = Tiered.Bookie.V1.Bookie;

namespace Tiered.Ledger;

public sealed partial class LedgerClient : IBookieInfoReader
{
    /// <inheritdoc/>
    /// <remarks>Asked over the connection this client keeps to the bookie, or in-process for one of <see cref="LedgerClientOptions.LocalBookies"/>.</remarks>
    public async Task<InfoResponse> GetBookieInfoAsync(string bookieId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        await AddressesLoadedAsync(cancellationToken).ConfigureAwait(false);
        BookieRpc.BookieClient client;
        try
        {
            client = _pool.Get(bookieId);
        }
        catch (RpcException e)
        {
            throw new LedgerException(e.Status.Detail, e);
        }
        try
        {
            return await client.InfoAsync(new InfoRequest(), deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LedgerException(e.StatusCode == StatusCode.DeadlineExceeded
                ? $"No answer within {timeout.TotalSeconds:0.###} s."
                : $"No answer ({e.StatusCode}).", e);
        }
    }
}
