namespace Tiered.Security.Tokens;

/// <summary>
/// Reading and writing key files. Secret and private keys are created readable by their owner only (mode 600), and
/// an existing file is never overwritten: replacing a key in use would invalidate every token signed with it.
/// </summary>
internal static class KeyFiles
{
    /// <summary>Writes <paramref name="content"/> to a new file, mode 600 when <paramref name="secret"/> (on Unix).</summary>
    public static void WriteNew(string path, ReadOnlySpan<byte> content, bool secret, string what)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = secret ? UnixFileMode.UserRead | UnixFileMode.UserWrite : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        try
        {
            using var stream = new FileStream(path, options);
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new TokenKeyException($"{path} exists already: a {what} is never overwritten (tokens signed with the old key would stop working). Remove it first or choose another file.");
        }
        catch (DirectoryNotFoundException e)
        {
            throw new TokenKeyException($"cannot write the {what} to {path}: its directory does not exist.", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new TokenKeyException($"cannot write the {what} to {path}: permission denied.", e);
        }
        catch (IOException e)
        {
            throw new TokenKeyException($"cannot write the {what} to {path}: {e.GetType().Name}.", e);
        }
    }

    /// <summary>The bytes of a key file, or a <see cref="TokenKeyException"/> saying why they cannot be read.</summary>
    public static byte[] Read(string path, string what, string createHint)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new TokenKeyException($"the {what} file {path} does not exist ({createHint}).", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new TokenKeyException($"the {what} file {path} does not exist: its directory is missing ({createHint}).", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new TokenKeyException($"cannot read the {what} file {path}: permission denied (or it is a directory).", e);
        }
        catch (IOException e)
        {
            throw new TokenKeyException($"cannot read the {what} file {path}: {e.GetType().Name}.", e);
        }
    }
}
