namespace Tiered.Offloader.Stores;

/// <summary>Where and how <see cref="S3ObjectStore"/> reaches its bucket; change with <c>with</c>.</summary>
public sealed record S3ObjectStoreOptions
{
    /// <summary>S3's smallest part size for every part of a multipart upload but the last.</summary>
    public const long MinimumPartSize = 5L << 20;

    /// <summary>The bucket the objects go to; it must exist.</summary>
    public required string Bucket { get; init; }

    /// <summary>Put in front of every key, e.g. "offload/cluster-a/" (a '/' is added when missing); keys listed come back without it.</summary>
    public string? Prefix { get; init; }

    /// <summary>The service URL of an S3-compatible endpoint ("http://127.0.0.1:9000"); null → AWS S3 of <see cref="Region"/>.</summary>
    public string? Endpoint { get; init; }

    public string Region { get; init; } = "us-east-1";

    /// <summary>"http://host/bucket/key" rather than "http://bucket.host/key": what MinIO, s3rver and most on-premise stores need.</summary>
    public bool ForcePathStyle { get; init; }

    /// <summary>With <see cref="SecretKey"/>; when both are absent the AWS SDK's default credential chain is used (environment, profile, instance role).</summary>
    public string? AccessKey { get; init; }

    public string? SecretKey { get; init; }

    /// <summary>aws-chunked uploads (signed chunks, trailing checksums); turn off for stores that do not decode them (s3rver).</summary>
    public bool UseChunkEncoding { get; init; } = true;

    /// <summary>Objects larger than this are uploaded in parts.</summary>
    public long MultipartThreshold { get; init; } = 64L << 20;

    public long PartSize { get; init; } = 16L << 20;

    /// <summary>Per request, connecting included: an unreachable endpoint fails in seconds rather than minutes.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How many times the SDK retries a failed request before the error reaches the caller.</summary>
    public int MaxErrorRetry { get; init; } = 2;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Bucket))
            throw new ArgumentException("S3 object store: Bucket is required.");
        if (Bucket.Contains('/', StringComparison.Ordinal))
            throw new ArgumentException($"S3 object store: bucket '{Bucket}' must be a bucket name, without '/' (put a path into Prefix).");
        if (Prefix is { Length: > 0 } && Prefix.StartsWith('/'))
            throw new ArgumentException($"S3 object store: prefix '{Prefix}' must not start with '/'.");
        if (Endpoint is not null && (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
            throw new ArgumentException($"S3 object store: endpoint '{Endpoint}' is not an http:// or https:// URL.");
        if (string.IsNullOrWhiteSpace(Region))
            throw new ArgumentException("S3 object store: Region must not be empty (use us-east-1 for most S3-compatible stores).");
        if (string.IsNullOrEmpty(AccessKey) != string.IsNullOrEmpty(SecretKey))
            throw new ArgumentException("S3 object store: give both AccessKey and SecretKey, or neither to use the AWS default credential chain.");
        if (PartSize < MinimumPartSize)
            throw new ArgumentException($"S3 object store: PartSize {PartSize} is below S3's minimum of {MinimumPartSize} bytes (5 MiB).");
        if (MultipartThreshold < PartSize)
            throw new ArgumentException($"S3 object store: MultipartThreshold {MultipartThreshold} must be at least PartSize {PartSize}.");
        if (Timeout <= TimeSpan.Zero)
            throw new ArgumentException($"S3 object store: Timeout {Timeout} must be positive and finite.");
        if (MaxErrorRetry < 0)
            throw new ArgumentException($"S3 object store: MaxErrorRetry {MaxErrorRetry} must not be negative.");
    }

    /// <summary>The prefix as put in front of keys: empty, or ending with '/'.</summary>
    internal string KeyPrefix => Prefix is { Length: > 0 } p ? (p.EndsWith('/') ? p : p + "/") : "";
}
