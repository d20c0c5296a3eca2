using System.Buffers;
using System.Runtime.CompilerServices;

namespace Tiered.Offloader.Stores;

/// <summary>
/// Objects as files under a root directory; a key's '/' separated segments are subdirectories.
/// The standalone default, and what tests use when S3 is beside the point.
/// </summary>
/// <remarks>
/// A put writes a temporary file (".tmp-…", never listed) beside its target, fsyncs it, renames it
/// over the key and fsyncs the directory, so a crash leaves either no object, the previous one or
/// the complete new one.
/// </remarks>
public sealed class FileSystemObjectStore : IObjectStore
{
    internal const string TempPrefix = ".tmp-";
    private const int CopyBufferSize = 1 << 20;

    private readonly string _root;

    public FileSystemObjectStore(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(rootDirectory));
        Location = new Uri(_root + Path.DirectorySeparatorChar).AbsoluteUri.TrimEnd('/');
    }

    public string Location { get; }

    /// <summary>A local file is not checked on write; reading it back is cheap.</summary>
    public bool VerifiesPuts => false;

    /// <remarks>A failure of <paramref name="content"/> itself propagates as it is; only the store's own failures become <see cref="ObjectStoreException"/>s.</remarks>
    public async Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var path = PathOf(key);
        var directory = Path.GetDirectoryName(path)!;
        var temp = Path.Combine(directory, TempPrefix + Guid.NewGuid().ToString("N"));
        var readingSource = false;
        try
        {
            CreateDirectoryDurably(directory);
            var file = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous,
                BufferSize = 0,
            });
            await using (file.ConfigureAwait(false))
            {
                var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
                try
                {
                    while (true)
                    {
                        readingSource = true;
                        var read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                        readingSource = false;
                        if (read == 0)
                            break;
                        await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
            DirectorySync.Sync(directory);
        }
        catch (Exception e) when (!readingSource && e is IOException or UnauthorizedAccessException)
        {
            DeleteQuietly(temp);
            throw new ObjectStoreException($"Cannot write object '{key}' to {Location}: {e.Message}", isRetryable: false, e);
        }
        catch
        {
            DeleteQuietly(temp);
            throw;
        }
    }

    public async Task<int> ReadAsync(string key, long offset, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var path = PathOf(key);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
            var total = 0;
            while (total < destination.Length)
            {
                var read = await RandomAccess.ReadAsync(handle, destination[total..], offset + total, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                    break;
                total += read;
            }
            return total;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw NotFound(key, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failed("read", key, e);
        }
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        try
        {
            Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, CopyBufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return Task.FromResult(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw NotFound(key, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failed("open", key, e);
        }
    }

    public Task<long?> GetSizeAsync(string key, CancellationToken cancellationToken = default)
    {
        var file = new FileInfo(PathOf(key));
        return Task.FromResult(file.Exists ? file.Length : (long?)null);
    }

    /// <summary>
    /// Deletes the temporary files of puts that a crash (kill -9, power loss) cut off: those not
    /// written to for <paramref name="minimumAge"/>, so a put still running is left alone. Returns
    /// how many were deleted; files that cannot be deleted are skipped.
    /// </summary>
    public int DeleteAbandonedWrites(TimeSpan minimumAge)
    {
        if (!Directory.Exists(_root))
            return 0;
        var cutoff = DateTime.UtcNow - minimumAge;
        var deleted = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true, ReturnSpecialDirectories = false };
        foreach (var file in new DirectoryInfo(_root).EnumerateFiles(TempPrefix + "*", options))
        {
            try
            {
                if (file.LastWriteTimeUtc >= cutoff)
                    continue;
                file.Delete();
                deleted++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return deleted;
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (!Directory.Exists(_root))
            yield break;
        // Start at the deepest directory the prefix names fully, rather than walking the whole root.
        var slash = prefix.LastIndexOf('/');
        var start = slash < 0 ? _root : Path.Combine(_root, prefix[..slash]);
        if (slash >= 0 && (!IsValidKey(prefix[..slash], out _) || !Directory.Exists(start)))
            yield break;
        List<StoredObject> found = [];
        try
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false, ReturnSpecialDirectories = false };
            foreach (var file in new DirectoryInfo(start).EnumerateFiles("*", options))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (file.Name.StartsWith(TempPrefix, StringComparison.Ordinal))
                    continue;
                var key = Path.GetRelativePath(_root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
                if (key.StartsWith(prefix, StringComparison.Ordinal))
                    found.Add(new StoredObject(key, file.Length));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ObjectStoreException($"Cannot list objects under '{prefix}' in {Location}: {e.Message}", isRetryable: false, e);
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var item in found)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return item;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failed("delete", key, e);
        }
        return Task.CompletedTask;
    }

    public void Dispose()
    {
    }

    /// <summary>Whether <paramref name="key"/> can name an object here; <paramref name="reason"/> says why not.</summary>
    internal static bool IsValidKey(string key, out string reason)
    {
        if (string.IsNullOrEmpty(key))
        {
            reason = "it is empty";
            return false;
        }
        reason = key switch
        {
            _ when key.StartsWith('/') => "it starts with '/'",
            _ when key.Contains('\\', StringComparison.Ordinal) => "it contains a backslash",
            _ when key.Contains('\0', StringComparison.Ordinal) => "it contains a NUL character",
            _ => "",
        };
        if (reason.Length > 0)
            return false;
        foreach (var segment in key.Split('/'))
        {
            reason = segment switch
            {
                "" => "it has an empty segment ('//' or a trailing '/')",
                "." or ".." => $"it has a '{segment}' segment",
                _ when segment.StartsWith(TempPrefix, StringComparison.Ordinal) => $"a segment starts with '{TempPrefix}', which is kept for files being written",
                _ => "",
            };
            if (reason.Length > 0)
                return false;
        }
        return true;
    }

    private string PathOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!IsValidKey(key, out var reason))
            throw new ArgumentException($"Object key '{key.Replace("\0", "\\0", StringComparison.Ordinal)}' is not valid for {Location}: {reason}.", nameof(key));
        return Path.Combine(_root, key.Replace('/', Path.DirectorySeparatorChar));
    }

    /// <summary>Creates the missing directories down to <paramref name="directory"/>, fsyncing each parent so they survive a crash.</summary>
    private void CreateDirectoryDurably(string directory)
    {
        if (Directory.Exists(directory))
            return;
        var parent = Path.GetDirectoryName(directory);
        if (parent is not null && !string.Equals(directory, _root, StringComparison.Ordinal))
            CreateDirectoryDurably(parent);
        Directory.CreateDirectory(directory);
        if (parent is not null)
            DirectorySync.Sync(parent);
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private ObjectNotFoundException NotFound(string key, Exception inner)
        => new($"No object '{key}' in {Location}.", inner);

    private ObjectStoreException Failed(string action, string key, Exception inner)
        => new($"Cannot {action} object '{key}' in {Location}: {inner.Message}", isRetryable: false, inner);
}
