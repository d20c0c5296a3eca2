using System.Security.Cryptography;
using System.Runtime.CompilerServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Tiered.Offloader.Stores;

/// <summary>
/// Objects in an S3 bucket (AWS or any S3-compatible service: MinIO, Ceph, s3rver), keys put under
/// <see cref="S3ObjectStoreOptions.Prefix"/>. Large puts go up in parts and become visible only
/// when complete.
/// </summary>
public sealed partial class S3ObjectStore : IObjectStore
{
    private readonly S3ObjectStoreOptions _options;
    private readonly AmazonS3Client _client;
    private readonly string _keyPrefix;
    private readonly string _endpoint;

    public S3ObjectStore(S3ObjectStoreOptions options)
        : this(options, httpClientFactory: null)
    {
    }

    /// <summary>With the SDK's HTTP clients made by <paramref name="httpClientFactory"/>: tests watch the requests through it.</summary>
    internal S3ObjectStore(S3ObjectStoreOptions options, HttpClientFactory? httpClientFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _keyPrefix = options.KeyPrefix;
        _endpoint = options.Endpoint?.TrimEnd('/') ?? $"https://s3.{options.Region}.amazonaws.com";
        Location = $"s3://{options.Bucket}/{_keyPrefix} at {_endpoint}";
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            Timeout = options.Timeout,
            ConnectTimeout = options.Timeout,
            MaxErrorRetry = options.MaxErrorRetry,
        };
        if (httpClientFactory is not null)
            config.HttpClientFactory = httpClientFactory;
        if (options.Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        if (!options.UseChunkEncoding)
        {
            // Flexible checksums would otherwise travel as aws-chunked trailers, which such stores cannot decode either.
            config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
            config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
        }
        _client = options.AccessKey is { Length: > 0 } accessKey
            ? new AmazonS3Client(new BasicAWSCredentials(accessKey, options.SecretKey), config)
            : new AmazonS3Client(config);
    }

    public string Location { get; }

    /// <summary>Every put and part carries its Content-MD5, which S3 checks, and its ETag is compared with it.</summary>
    public bool VerifiesPuts => true;

    public async Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        ArgumentNullException.ThrowIfNull(content);
        var length = content.CanSeek ? content.Length - content.Position : long.MaxValue;
        if (length > _options.MultipartThreshold)
        {
            await PutInPartsAsync(key, content, cancellationToken).ConfigureAwait(false);
            return;
        }
        var start = content.Position;
        var md5 = await MD5.HashDataAsync(content, cancellationToken).ConfigureAwait(false);
        content.Position = start;
        var request = new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = _keyPrefix + key,
            InputStream = content,
            AutoCloseStream = false,
            AutoResetStreamPosition = false,
            UseChunkEncoding = _options.UseChunkEncoding,
            MD5Digest = Convert.ToBase64String(md5),
        };
        var response = await CallAsync("put", key, () => _client.PutObjectAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
        CheckETag(key, response.ETag, md5, "object");
    }

    /// <summary>
    /// S3 answers a plain put or part with the MD5 of what it stored as its ETag (objects encrypted
    /// with KMS keys have other ETags; for those the Content-MD5 S3 checked is the proof).
    /// </summary>
    private void CheckETag(string key, string? etag, byte[] md5, string what)
    {
        var stored = etag?.Trim('"');
        if (stored is not { Length: 32 } || !stored.All(char.IsAsciiHexDigit))
            return;
        if (!string.Equals(stored, Convert.ToHexString(md5), StringComparison.OrdinalIgnoreCase))
            throw new ObjectStoreException($"{Location} stored other bytes than were sent for the {what} of {key} (MD5 {stored}, sent {Convert.ToHexStringLower(md5)}); try again.", isRetryable: true);
    }

    public async Task<int> ReadAsync(string key, long offset, Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (destination.IsEmpty)
        {
            _ = await GetSizeAsync(key, cancellationToken).ConfigureAwait(false) ?? throw NotFound(key, null);
            return 0;
        }
        var request = new GetObjectRequest
        {
            BucketName = _options.Bucket,
            Key = _keyPrefix + key,
            ByteRange = new ByteRange(offset, offset + destination.Length - 1),
        };
        GetObjectResponse response;
        try
        {
            response = await CallAsync("read", key, () => _client.GetObjectAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException e) when (e.InnerException is AmazonS3Exception { ErrorCode: "InvalidRange" })
        {
            return 0; // the range starts at or past the object's end
        }
        using (response)
        {
            var total = 0;
            try
            {
                while (total < destination.Length)
                {
                    var read = await response.ResponseStream.ReadAsync(destination[total..], cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                        break;
                    total += read;
                }
            }
            catch (IOException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw Unreachable("read", key, e.Message, e);
            }
            return total;
        }
    }

    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        var request = new GetObjectRequest { BucketName = _options.Bucket, Key = _keyPrefix + key };
        var response = await CallAsync("read", key, () => _client.GetObjectAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
        return response.ResponseStream;
    }

    /// <remarks>A HEAD answer carries no error code, so a missing bucket reads as a missing object here; a put or a list names it.</remarks>
    public async Task<long?> GetSizeAsync(string key, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        var request = new GetObjectMetadataRequest { BucketName = _options.Bucket, Key = _keyPrefix + key };
        try
        {
            var response = await CallAsync("look up", key, () => _client.GetObjectMetadataAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
            return response.ContentLength;
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    /// <remarks>
    /// Gathers every page, then sorts: S3 returns keys in order, but not every S3-compatible store
    /// does (s3rver walks its directories). A topic's listing is thousands of keys, not millions.
    /// </remarks>
    public async IAsyncEnumerable<StoredObject> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _keyPrefix + prefix };
        List<StoredObject> found = [];
        while (true)
        {
            var response = await CallAsync("list", prefix + "*", () => _client.ListObjectsV2Async(request, cancellationToken), cancellationToken).ConfigureAwait(false);
            // AWSSDK.S3 v4 leaves collections it did not receive null.
            foreach (var item in response.S3Objects ?? [])
            {
                if (item.Key is { } key && key.StartsWith(_keyPrefix, StringComparison.Ordinal))
                    found.Add(new StoredObject(key[_keyPrefix.Length..], item.Size ?? 0));
            }
            if (response.IsTruncated != true || string.IsNullOrEmpty(response.NextContinuationToken))
                break;
            request.ContinuationToken = response.NextContinuationToken;
        }
        found.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var item in found)
            yield return item;
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        ValidateKey(key);
        var request = new DeleteObjectRequest { BucketName = _options.Bucket, Key = _keyPrefix + key };
        try
        {
            await CallAsync("delete", key, () => _client.DeleteObjectAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
        }
    }

    public void Dispose() => _client.Dispose();

    private static void ValidateKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.Length > 1024)
            throw new ArgumentException($"Object key of {key.Length} characters is longer than S3's limit of 1024.", nameof(key));
    }
}
