using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Tiered.Offloader.Stores;

namespace Tiered.Offloader.Tests.Stores;

/// <summary>How S3 answers and transport failures become store errors, for those s3rver cannot be made to produce.</summary>
public sealed class S3ErrorMappingTests : IDisposable
{
    private readonly S3ObjectStore _store = new(new S3ObjectStoreOptions { Bucket = "offload", Endpoint = "http://127.0.0.1:9", AccessKey = "k", SecretKey = "s" });

    [Theory]
    [InlineData("SlowDown", HttpStatusCode.ServiceUnavailable)]
    [InlineData("InternalError", HttpStatusCode.InternalServerError)]
    [InlineData("", HttpStatusCode.BadGateway)]
    [InlineData("RequestTimeout", HttpStatusCode.BadRequest)]
    public void Throttling_and_server_errors_are_retryable(string code, HttpStatusCode status)
    {
        var error = _store.Translate(S3Error(code, status), "put", "k")!;

        Assert.True(error.IsRetryable);
        Assert.StartsWith("Cannot reach S3 endpoint http://127.0.0.1:9 to put 'k'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AccessDenied")]
    [InlineData("InvalidAccessKeyId")]
    [InlineData("SignatureDoesNotMatch")]
    public void Refused_credentials_are_not_retryable_and_say_what_to_check(string code)
    {
        var error = _store.Translate(S3Error(code, HttpStatusCode.Forbidden), "put", "k")!;

        Assert.False(error.IsRetryable);
        Assert.Contains("check the offload access key and secret key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_credentials_in_the_default_chain_is_not_retryable_and_says_where_to_put_them()
    {
        var error = _store.Translate(new AmazonClientException("Failed to resolve AWS credentials. The credential providers used to search for credentials returned the following errors: …"), "put", "k")!;

        Assert.False(error.IsRetryable);
        Assert.StartsWith("No credentials for S3 at http://127.0.0.1:9: set the offload access key and secret key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_bucket_is_not_retryable_and_says_what_to_do()
    {
        var error = _store.Translate(S3Error("NoSuchBucket", HttpStatusCode.NotFound), "put", "k")!;

        Assert.False(error.IsRetryable);
        Assert.Equal("S3 bucket 'offload' does not exist at http://127.0.0.1:9: create it or point the offload bucket at one that exists.", error.Message);
    }

    [Theory]
    [InlineData("NoSuchKey")]
    [InlineData("NotFound")]
    public void A_missing_key_is_ObjectNotFoundException(string code)
        => Assert.IsType<ObjectNotFoundException>(_store.Translate(S3Error(code, HttpStatusCode.NotFound), "read", "k"));

    public static TheoryData<Exception> TransportFailures => new()
    {
        new HttpRequestException("Connection refused (127.0.0.1:9)", new SocketException((int)SocketError.ConnectionRefused)),
        new HttpRequestException("Name or service not known (s3.invalid:443)", new SocketException((int)SocketError.HostNotFound)),
        new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 30 seconds elapsing.", new TimeoutException()),
        new AmazonServiceException("wrapped", new HttpRequestException("An error occurred while sending the request.", new IOException("Connection reset by peer"))),
    };

    [Theory]
    [MemberData(nameof(TransportFailures))]
    public void Connection_DNS_and_timeout_failures_are_retryable(Exception failure)
    {
        var error = _store.Translate(failure, "list", "t/*")!;

        Assert.True(error.IsRetryable);
        Assert.StartsWith("Cannot reach S3 endpoint http://127.0.0.1:9 to list 't/*' in bucket 'offload': ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failure_that_is_not_the_stores_is_left_alone()
        => Assert.Null(_store.Translate(new InvalidOperationException("a bug of the caller"), "put", "k"));

    public void Dispose() => _store.Dispose();

    private static AmazonS3Exception S3Error(string code, HttpStatusCode status)
        => new("from the service", ErrorType.Sender, code, "request-1", status);
}
