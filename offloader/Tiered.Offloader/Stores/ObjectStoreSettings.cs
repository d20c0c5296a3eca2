namespace Tiered.Offloader.Stores;

/// <summary>
/// An offload target as the broker configuration and namespace policies spell it (Pulsar's
/// managedLedgerOffloadDriver, s3ManagedLedgerOffloadBucket, …); <see cref="ObjectStores.Create"/> builds the store.
/// </summary>
public sealed record ObjectStoreSettings
{
    /// <summary>"filesystem", or "s3" / "aws-s3" (Pulsar's name); case-insensitive.</summary>
    public required string Driver { get; init; }

    /// <summary>The filesystem driver's root directory.</summary>
    public string? Directory { get; init; }

    public string? Bucket { get; init; }

    public string? Endpoint { get; init; }

    public string? Region { get; init; }

    public bool PathStyle { get; init; }

    public string? AccessKey { get; init; }

    public string? SecretKey { get; init; }

    public bool UseChunkEncoding { get; init; } = true;

    /// <summary>The s3 driver's key prefix inside the bucket.</summary>
    public string? Prefix { get; init; }

    internal bool IsFileSystem => string.Equals(Driver?.Trim(), "filesystem", StringComparison.OrdinalIgnoreCase);

    internal bool IsS3 => Driver?.Trim().ToUpperInvariant() is "S3" or "AWS-S3";

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Driver))
            throw new ArgumentException("The offload driver is not set: use filesystem or s3.");
        if (IsFileSystem)
        {
            if (string.IsNullOrWhiteSpace(Directory))
                throw new ArgumentException("The filesystem offload driver needs a directory.");
            return;
        }
        if (!IsS3)
            throw new ArgumentException($"offload driver '{Driver}' is not known: use filesystem or s3.");
        if (string.IsNullOrWhiteSpace(Bucket))
            throw new ArgumentException("the s3 driver needs a bucket.");
        ToS3Options().Validate();
    }

    internal S3ObjectStoreOptions ToS3Options()
    {
        var options = new S3ObjectStoreOptions
        {
            Bucket = Bucket!,
            Prefix = Prefix,
            Endpoint = string.IsNullOrWhiteSpace(Endpoint) ? null : Endpoint,
            ForcePathStyle = PathStyle,
            AccessKey = AccessKey,
            SecretKey = SecretKey,
            UseChunkEncoding = UseChunkEncoding,
        };
        return string.IsNullOrWhiteSpace(Region) ? options : options with { Region = Region };
    }
}
