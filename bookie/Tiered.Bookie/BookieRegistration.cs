using Microsoft.Extensions.Logging;
using Tiered.Ledger;
using Tiered.Metadata;

namespace Tiered.Bookie;

/// <summary>
/// Keeps the bookie listed in the metadata service as an ephemeral key, under
/// <c>/bookies/available/{id}</c> while it accepts adds or <c>/bookies/readonly/{id}</c> while
/// its disk is nearly full. The key vanishes when the bookie stops heart-beating (crash,
/// partition), which is what triggers auto-recovery of its ledgers; after a lost session the
/// bookie registers again (<see cref="EphemeralRecord"/>). The key's value is the bookie's
/// advertised address (HOST:PORT): writers and readers find it there by id, so a bookie restarted
/// at another address under the same id keeps serving its ledgers.
/// </summary>
internal sealed class BookieRegistration : IAsyncDisposable
{
    private readonly EphemeralRecord _record;
    private readonly string _bookieId;
    private readonly byte[] _address;

    private BookieRegistration(EphemeralRecord record, string bookieId, byte[] address) => (_record, _bookieId, _address) = (record, bookieId, address);

    /// <summary>Registers the bookie of <paramref name="options"/> under its id, with its advertised address as the value.</summary>
    public static async Task<BookieRegistration> StartAsync(IMetadataStore store, BookieOptions options, bool readOnly, ILogger logger, CancellationToken cancellationToken)
    {
        var address = options.ResolvedAdvertisedAddress;
        if (options.AdvertisesMachineHostName)
            LogMessages.AdvertisingHostName(logger, options.Listen, address);
        var value = System.Text.Encoding.UTF8.GetBytes(address);
        var record = await EphemeralRecord.StartAsync(store, Key(options.BookieId, readOnly), value, options.SessionTtl, logger, cancellationToken).ConfigureAwait(false);
        return new BookieRegistration(record, options.BookieId, value);
    }

    private static string Key(string bookieId, bool readOnly) => readOnly ? BookiePaths.ReadOnlyKey(bookieId) : BookiePaths.AvailableKey(bookieId);

    /// <summary>Moves the registration between available and read-only.</summary>
    public Task SetReadOnlyAsync(bool readOnly, CancellationToken cancellationToken)
        => _record.MoveAsync(Key(_bookieId, readOnly), _address, cancellationToken);

    /// <summary>Closes the session, which removes the key at once.</summary>
    public ValueTask DisposeAsync() => _record.DisposeAsync();
}
