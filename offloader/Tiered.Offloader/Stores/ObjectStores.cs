namespace Tiered.Offloader.Stores;

/// <summary>Builds the object store that <see cref="ObjectStoreSettings"/> describe: how the broker and namespace policies get one.</summary>
public static class ObjectStores
{
    public const string FileSystemDriver = "filesystem";
    public const string S3Driver = "s3";

    /// <summary>The driver's canonical name ("filesystem" or "s3"; Pulsar's "aws-s3" is "s3"), so equal stores get equal addresses.</summary>
    public static string NormalizeDriver(string driver) => new ObjectStoreSettings { Driver = driver } switch
    {
        { IsFileSystem: true } => FileSystemDriver,
        { IsS3: true } => S3Driver,
        _ => driver,
    };

    /// <exception cref="ArgumentException">The settings are incomplete or wrong; the message says which value.</exception>
    public static IObjectStore Create(ObjectStoreSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        return settings.IsFileSystem
            ? new FileSystemObjectStore(settings.Directory!)
            : new S3ObjectStore(settings.ToS3Options());
    }
}
