using Tiered.Offloader.Stores;

namespace Tiered.Offloader.Tests.Stores;

public sealed class ObjectStoresTests
{
    [Theory]
    [InlineData("filesystem")]
    [InlineData("FileSystem")]
    public void The_filesystem_driver_builds_a_store_in_the_directory(string driver)
    {
        using var store = ObjectStores.Create(new ObjectStoreSettings { Driver = driver, Directory = "/tmp/tiered-offload" });

        Assert.IsType<FileSystemObjectStore>(store);
        Assert.Equal("file:///tmp/tiered-offload", store.Location);
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("aws-s3")]
    [InlineData("S3")]
    public void The_s3_drivers_build_a_store_at_the_endpoint(string driver)
    {
        using var store = ObjectStores.Create(new ObjectStoreSettings
        {
            Driver = driver,
            Bucket = "offload",
            Prefix = "cluster-a",
            Endpoint = "http://127.0.0.1:9000",
            PathStyle = true,
            AccessKey = "k",
            SecretKey = "s",
        });

        Assert.IsType<S3ObjectStore>(store);
        Assert.Equal("s3://offload/cluster-a/ at http://127.0.0.1:9000", store.Location);
    }

    public static TheoryData<ObjectStoreSettings, string> BadSettings => new()
    {
        { new() { Driver = "" }, "The offload driver is not set: use filesystem or s3" },
        { new() { Driver = "gcs" }, "offload driver 'gcs' is not known: use filesystem or s3" },
        { new() { Driver = "filesystem" }, "The filesystem offload driver needs a directory" },
        { new() { Driver = "s3" }, "the s3 driver needs a bucket" },
        { new() { Driver = "s3", Bucket = "b", Endpoint = "localhost:9000" }, "endpoint 'localhost:9000' is not an http:// or https:// URL" },
        { new() { Driver = "aws-s3", Bucket = "b", SecretKey = "s" }, "give both AccessKey and SecretKey" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Bad_settings_are_rejected_with_a_clear_message(ObjectStoreSettings settings, string says)
    {
        var error = Assert.Throws<ArgumentException>(() => ObjectStores.Create(settings));

        Assert.Contains(says, error.Message, StringComparison.Ordinal);
    }
}
