namespace Tiered.Offloader.Stores;

/// <summary>Builds the object store that <see cref="ObjectStoreSettings"/> describe: how the broker and namespace policies get one.</summary>
public static class ObjectStores
{
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
