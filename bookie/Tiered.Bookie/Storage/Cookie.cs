using System.Text;

namespace Tiered.Bookie.Storage;

/// <summary>
/// The bookie's identity written next to its data, as BookKeeper's cookie: a <c>COOKIE</c> file in the data
/// directory and one in the journal directory, with the bookie id and an instance id drawn when the data was first
/// written. Ensembles name bookies by id, so data served under another id (a bookie started on another's
/// directories, or one whose id changed) would answer for ledgers it does not hold, or hide the ones it does: a
/// bookie whose cookies do not match refuses to start. A directory that already holds data but no cookie (written
/// before cookies existed) is adopted under the configured id.
/// </summary>
internal sealed record Cookie(string BookieId, string InstanceId)
{
    public const string FileName = "COOKIE";

    private const int FormatVersion = 1;

    /// <summary>
    /// Checks the cookies of <paramref name="dataDir"/> and <paramref name="journalDir"/> against
    /// <paramref name="bookieId"/>, writing them (durably) on first start. Returns the cookie in force.
    /// </summary>
    /// <exception cref="BookieIdentityException">The directories belong to another bookie, or to two different ones.</exception>
    public static Cookie VerifyOrCreate(string dataDir, string journalDir, string bookieId)
    {
        Directory.CreateDirectory(dataDir);
        Directory.CreateDirectory(journalDir);
        var data = Read(dataDir);
        var journal = Read(journalDir);
        if (data is not null && data.BookieId != bookieId)
            throw ChangedId(dataDir, data, bookieId);
        if (journal is not null && journal.BookieId != bookieId)
            throw ChangedId(journalDir, journal, bookieId);
        if (data is not null && journal is not null && data.InstanceId != journal.InstanceId)
        {
            throw new BookieIdentityException(
                $"The data directory {Path.GetFullPath(dataDir)} and the journal directory {Path.GetFullPath(journalDir)} hold different bookies' data "
                + $"(instance {data.InstanceId} and {journal.InstanceId} in their {FileName} files), although both say bookie '{bookieId}'. "
                + "Give the bookie the journal directory that was written together with its data directory.");
        }
        var cookie = data ?? journal ?? new Cookie(bookieId, Guid.NewGuid().ToString("N"));
        if (data is null)
            WriteNew(dataDir, journalDir, cookie, journal is not null);
        if (journal is null)
            WriteNew(journalDir, dataDir, cookie, data is not null);
        return cookie;
    }

    /// <summary>The cookie of <paramref name="directory"/>; null when it has none.</summary>
    public static Cookie? Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            return null;
        string? id = null, instance = null;
        foreach (var line in File.ReadAllLines(path, Encoding.UTF8))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
                continue;
            var (key, value) = (line[..equals].Trim(), line[(equals + 1)..].Trim());
            if (key == "bookie-id")
                id = value;
            else if (key == "instance-id")
                instance = value;
        }
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(instance))
            throw new BookieIdentityException($"{Path.GetFullPath(path)} is damaged (no bookie-id or instance-id line). Restore it from a backup, or write 'bookie-id=ID' and 'instance-id=' with the value of the other directory's {FileName}.");
        return new Cookie(id, instance);
    }

    private static void WriteNew(string directory, string otherDirectory, Cookie cookie, bool otherHasOne)
    {
        // A directory without a cookie beside one that has it: a fresh (empty) disk is taken over; one with data
        // of unknown origin is not, since it may be another bookie's.
        if (otherHasOne && HoldsData(directory) && !SameDirectory(directory, otherDirectory))
        {
            throw new BookieIdentityException(
                $"{Path.GetFullPath(directory)} holds bookie data but no {FileName}, while {Path.GetFullPath(otherDirectory)} belongs to bookie '{cookie.BookieId}': "
                + $"it may be another bookie's. Empty it to use it for this bookie, or copy {Path.Combine(Path.GetFullPath(otherDirectory), FileName)} into it if it is this bookie's own.");
        }
        var path = Path.Combine(directory, FileName);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(Encoding.UTF8.GetBytes($"format={FormatVersion}\nbookie-id={cookie.BookieId}\ninstance-id={cookie.InstanceId}\n"));
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        DirectorySync.Sync(directory);
    }

    private static bool HoldsData(string directory)
        => Directory.EnumerateFileSystemEntries(directory).Any(e => !Path.GetFileName(e).StartsWith(FileName, StringComparison.Ordinal));

    private static bool SameDirectory(string a, string b)
        => string.Equals(Path.GetFullPath(a).TrimEnd(Path.DirectorySeparatorChar), Path.GetFullPath(b).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal);

    private static BookieIdentityException ChangedId(string directory, Cookie cookie, string bookieId) => new(
        $"{Path.GetFullPath(directory)} belongs to bookie '{cookie.BookieId}' (its {FileName} says so), but this bookie's id is '{bookieId}'. "
        + $"To restart bookie '{cookie.BookieId}' (at any address), start it with --id {cookie.BookieId}; "
        + $"to start a new bookie '{bookieId}', give it empty data and journal directories. Ledgers name bookies by id, so the data cannot change owner.");
}

/// <summary>A bookie's directories belong to another bookie (or its id changed): it refuses to start; the message says what to do.</summary>
public sealed class BookieIdentityException(string message) : Exception(message);
