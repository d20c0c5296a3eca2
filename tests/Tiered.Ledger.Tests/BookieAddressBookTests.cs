using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Testing;

namespace Tiered.Ledger.Tests;

public sealed class BookieAddressBookTests
{
    [Theory]
    [InlineData("/bookies/available/bookie-1", "10.0.0.7:3181", "bookie-1", "10.0.0.7:3181")]
    [InlineData("/bookies/readonly/bookie-1", "b1.svc:3181", "bookie-1", "b1.svc:3181")]
    [InlineData("/bookies/available/127.0.0.1:3181", "", "127.0.0.1:3181", "127.0.0.1:3181")]
    public void A_registration_names_the_bookie_by_key_and_its_address_by_value(string key, string value, string id, string address)
    {
        Assert.True(BookieAddressBook.TryParse(key, Encoding.UTF8.GetBytes(value), out var parsedId, out var parsedAddress));
        Assert.Equal((id, address), (parsedId, parsedAddress));
    }

    [Theory]
    [InlineData("/bookies/available")]
    [InlineData("/bookies/auditor/lock")]
    [InlineData("/bookies/available/a/b")]
    [InlineData("/ledgers/1")]
    public void Other_keys_are_no_registration(string key)
        => Assert.False(BookieAddressBook.TryParse(key, "x"u8, out _, out _));

    [Fact]
    public async Task A_bookie_that_moves_is_found_at_its_new_address_and_an_unknown_one_at_its_id()
    {
        await using var metadata = await LocalMetadata.StartAsync();
        await metadata.Store.PutAsync("/bookies/available/bookie-1", "10.0.0.1:3181"u8.ToArray());
        await using var book = new BookieAddressBook(metadata.Store, NullLogger.Instance);
        await book.WaitLoadedAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal("10.0.0.1:3181", book.AddressOf("bookie-1"));
        Assert.Equal("10.0.0.9:3181", book.AddressOf("10.0.0.9:3181"));

        await metadata.Store.DeleteAsync("/bookies/available/bookie-1");
        await metadata.Store.PutAsync("/bookies/readonly/bookie-1", "bookie-1.svc:3182"u8.ToArray());
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (book.AddressOf("bookie-1") != "bookie-1.svc:3182" && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.Equal("bookie-1.svc:3182", book.AddressOf("bookie-1"));
    }
}
