using Tiered.Offloader.Stores;

namespace Tiered.Offloader.Tests.Stores;

public sealed class S3ObjectStoreOptionsTests
{
    private static readonly S3ObjectStoreOptions Valid = new() { Bucket = "offload" };

    public static TheoryData<S3ObjectStoreOptions, string, string> BadOptions => new()
    {
        { Valid with { Bucket = "" }, nameof(S3ObjectStoreOptions.Bucket), "Bucket is required" },
        { Valid with { Bucket = "offload/dir" }, nameof(S3ObjectStoreOptions.Bucket), "Prefix" },
        { Valid with { Prefix = "/abs" }, nameof(S3ObjectStoreOptions.Prefix), "must not start with '/'" },
        { Valid with { Endpoint = "127.0.0.1:9000" }, nameof(S3ObjectStoreOptions.Endpoint), "not an http:// or https:// URL" },
        { Valid with { Region = " " }, nameof(S3ObjectStoreOptions.Region), "Region" },
        { Valid with { AccessKey = "key" }, nameof(S3ObjectStoreOptions.SecretKey), "both AccessKey and SecretKey" },
        { Valid with { PartSize = 1 << 20 }, nameof(S3ObjectStoreOptions.PartSize), "5 MiB" },
        { Valid with { MultipartThreshold = 8 << 20, PartSize = 16 << 20 }, nameof(S3ObjectStoreOptions.MultipartThreshold), "at least PartSize" },
        { Valid with { Timeout = TimeSpan.Zero }, nameof(S3ObjectStoreOptions.Timeout), "positive" },
        { Valid with { MaxErrorRetry = -1 }, nameof(S3ObjectStoreOptions.MaxErrorRetry), "negative" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void A_bad_value_is_rejected_with_a_message_naming_it(S3ObjectStoreOptions options, string parameter, string says)
    {
        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Contains(parameter, error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new S3ObjectStore(options));
    }

    [Fact]
    public void The_defaults_are_valid_and_fail_fast()
    {
        Valid.Validate();

        Assert.Equal("us-east-1", Valid.Region);
        Assert.True(Valid.UseChunkEncoding);
        Assert.Equal(64L << 20, Valid.MultipartThreshold);
        Assert.Equal(16L << 20, Valid.PartSize);
        Assert.Equal(TimeSpan.FromSeconds(30), Valid.Timeout);
        Assert.Equal(2, Valid.MaxErrorRetry);
    }

    [Fact]
    public void Without_an_endpoint_the_store_is_at_AWS_for_its_region()
    {
        using var store = new S3ObjectStore(Valid with { Region = "eu-west-1", Prefix = "a/b/", AccessKey = "k", SecretKey = "s" });

        Assert.Equal("s3://offload/a/b/ at https://s3.eu-west-1.amazonaws.com", store.Location);
    }

    [Fact]
    public void Without_keys_the_store_is_built_for_the_default_credential_chain_which_resolves_only_when_used()
    {
        using var store = new S3ObjectStore(Valid with { Endpoint = "http://127.0.0.1:9" });

        Assert.Equal("s3://offload/ at http://127.0.0.1:9", store.Location);
    }
}
