using Tiered.Bookie.Storage;

namespace Tiered.Bookie.Tests;

public sealed class CookieTests
{
    [Fact]
    public void The_first_start_writes_the_same_cookie_in_the_data_and_the_journal_directory_and_later_starts_keep_it()
    {
        using var temp = new TempDirectory();
        var (data, journal) = (Path.Combine(temp.Path, "data"), Path.Combine(temp.Path, "journal"));
        var first = Cookie.VerifyOrCreate(data, journal, "bookie-a");
        Assert.Equal(first, Cookie.Read(data));
        Assert.Equal(first, Cookie.Read(journal));
        Assert.Equal(first, Cookie.VerifyOrCreate(data, journal, "bookie-a"));
    }

    [Fact]
    public void A_journal_directory_of_another_bookie_is_refused()
    {
        using var temp = new TempDirectory();
        Cookie.VerifyOrCreate(Path.Combine(temp.Path, "a"), Path.Combine(temp.Path, "a-journal"), "bookie-a");
        Cookie.VerifyOrCreate(Path.Combine(temp.Path, "b"), Path.Combine(temp.Path, "b-journal"), "bookie-a");
        var e = Assert.Throws<BookieIdentityException>(() => Cookie.VerifyOrCreate(Path.Combine(temp.Path, "a"), Path.Combine(temp.Path, "b-journal"), "bookie-a"));
        Assert.Contains("hold different bookies' data", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_written_before_cookies_existed_is_adopted_but_a_non_empty_directory_beside_a_cookie_is_not()
    {
        using var temp = new TempDirectory();
        var (data, journal) = (Path.Combine(temp.Path, "data"), Path.Combine(temp.Path, "journal"));
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "0000000000000001.log"), "old");
        Cookie.VerifyOrCreate(data, journal, "bookie-a");
        Assert.Equal("bookie-a", Cookie.Read(data)!.BookieId);

        var otherJournal = Path.Combine(temp.Path, "other-journal");
        Directory.CreateDirectory(otherJournal);
        File.WriteAllText(Path.Combine(otherJournal, "journal-0000000000000001.log"), "someone's");
        var e = Assert.Throws<BookieIdentityException>(() => Cookie.VerifyOrCreate(data, otherJournal, "bookie-a"));
        Assert.Contains("may be another bookie's", e.Message, StringComparison.Ordinal);

        // An empty new journal disk is taken over.
        var emptyJournal = Path.Combine(temp.Path, "empty-journal");
        Assert.Equal(Cookie.Read(data), Cookie.VerifyOrCreate(data, emptyJournal, "bookie-a"));
    }
}
