namespace Tiered.Offloader;

/// <summary>
/// A flat store of immutable objects addressed by key ("tenant/ns/persistent/topic/ledger-12-….parquet"):
/// S3 or any S3-compatible service, or a directory. What the offloader writes sealed ledgers to.
/// </summary>
/// <remarks>
/// Every failure is an <see cref="ObjectStoreException"/> whose message names the store and says
/// what to do; <see cref="ObjectStoreException.IsRetryable"/> tells a store that cannot be reached
/// (retry later) from one that refuses (a missing bucket, bad credentials).
/// </remarks>
public interface IObjectStore : IDisposable
{
    /// <summary>Where the objects go, for messages and stats: "s3://bucket/prefix at http://host:port" or "file:///dir".</summary>
    string Location { get; }

    /// <summary>
    /// True when <see cref="PutAsync"/> itself proves that the store holds exactly the bytes sent
    /// (S3: a Content-MD5 the service checks, and the MD5 ETag it answers compared), so a caller
    /// need not read an object back to know it arrived intact.
    /// </summary>
    bool VerifiesPuts { get; }

    /// <summary>
    /// Stores <paramref name="content"/> (seekable, read from its current position to its end)
    /// under <paramref name="key"/>, replacing any object of that key. The object becomes visible
    /// only complete: a crash or failure part-way leaves either no object or the previous one.
    /// </summary>
    Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads up to <c>destination.Length</c> bytes of the object from <paramref name="offset"/>
    /// (one ranged GET on S3); fewer only at the object's end. Returns the bytes read.
    /// </summary>
    /// <exception cref="ObjectNotFoundException">No object of this key.</exception>
    Task<int> ReadAsync(string key, long offset, Memory<byte> destination, CancellationToken cancellationToken = default);

    /// <summary>The whole object as a stream, for sequential reads (verification, downloads).</summary>
    /// <exception cref="ObjectNotFoundException">No object of this key.</exception>
    Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>The object's size in bytes, or null when there is no object of this key.</summary>
    Task<long?> GetSizeAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>The objects whose keys start with <paramref name="prefix"/>, in key order.</summary>
    IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Deletes the object; no error when there is none.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken = default);
}

/// <summary>An object's key and size, as listed.</summary>
public readonly record struct StoredObject(string Key, long Size);

/// <summary>An object store failed or refused; the message names the store and the object.</summary>
public class ObjectStoreException(string message, bool isRetryable, Exception? innerException = null) : Exception(message, innerException)
{
    /// <summary>True when the store could not be reached or answered with a transient error: the same call may succeed later.</summary>
    public bool IsRetryable { get; } = isRetryable;
}

/// <summary>The object asked for does not exist.</summary>
public sealed class ObjectNotFoundException(string message, Exception? innerException = null) : ObjectStoreException(message, isRetryable: false, innerException);
