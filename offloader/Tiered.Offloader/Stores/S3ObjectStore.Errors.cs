using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;

namespace Tiered.Offloader.Stores;

public sealed partial class S3ObjectStore
{
    /// <summary>Runs one SDK call and turns its failures into <see cref="ObjectStoreException"/>s that say what to do.</summary>
    private async Task<T> CallAsync<T>(string action, string key, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && Translate(e, action, key) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>The store's error for a failed SDK call, or null when <paramref name="e"/> is not the store's doing (it propagates as it is).</summary>
    internal ObjectStoreException? Translate(Exception e, string action, string key)
    {
        if (e is AmazonS3Exception s3)
        {
            var code = s3.ErrorCode ?? "";
            var status = (int)s3.StatusCode;
            if (code == "NoSuchBucket")
                return new ObjectStoreException($"S3 bucket '{_options.Bucket}' does not exist at {_endpoint}: create it or point the offload bucket at one that exists.", isRetryable: false, e);
            if (code is "NoSuchKey" or "NoSuchUpload" || s3.StatusCode == HttpStatusCode.NotFound)
                return NotFound(key, e);
            if (code is "AccessDenied" or "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "ExpiredToken" or "InvalidToken" || s3.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
                return new ObjectStoreException($"S3 at {_endpoint} refused to {action} '{key}' in bucket '{_options.Bucket}' ({Describe(s3)}): check the offload access key and secret key (or the default AWS credentials) and the bucket's permissions.", isRetryable: false, e);
            if (status >= 500 || code is "SlowDown" or "RequestTimeout" or "Throttling" or "ServiceUnavailable" or "InternalError")
                return Unreachable(action, key, Describe(s3), e);
            if (Unreachability(e) is { } cause)
                return Unreachable(action, key, cause, e);
            return new ObjectStoreException($"S3 at {_endpoint} failed to {action} '{key}' in bucket '{_options.Bucket}' ({Describe(s3)}).", isRetryable: false, e);
        }
        if (Unreachability(e) is { } reason)
            return Unreachable(action, key, reason, e);
        if (e is AmazonClientException && e.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase))
            return new ObjectStoreException($"No credentials for S3 at {_endpoint}: set the offload access key and secret key, or give the AWS default chain some (environment, profile, instance role). {e.Message}", isRetryable: false, e);
        if (e is AmazonServiceException or AmazonClientException)
            return new ObjectStoreException($"S3 at {_endpoint} failed to {action} '{key}' in bucket '{_options.Bucket}': {e.Message}", isRetryable: false, e);
        return null;
    }

    /// <summary>What in the chain of <paramref name="e"/> says the endpoint could not be reached (connection refused, DNS, timeout), if anything.</summary>
    private static string? Unreachability(Exception e)
    {
        for (Exception? cause = e; cause is not null; cause = cause.InnerException)
        {
            switch (cause)
            {
                case SocketException socket:
                    return $"{socket.SocketErrorCode}: {socket.Message}";
                case HttpRequestException http:
                    return http.InnerException is null ? http.Message : $"{http.Message} {Unreachability(http.InnerException) ?? http.InnerException.Message}";
                case TimeoutException or TaskCanceledException or OperationCanceledException:
                    return $"no answer in time ({cause.Message})";
                case IOException io when cause != e:
                    return io.Message;
                default:
                    break;
            }
        }
        return null;
    }

    private ObjectStoreException Unreachable(string action, string key, string reason, Exception e)
        => new($"Cannot reach S3 endpoint {_endpoint} to {action} '{key}' in bucket '{_options.Bucket}': {reason}", isRetryable: true, e);

    private ObjectNotFoundException NotFound(string key, Exception? e)
        => new($"No object '{key}' in {Location}.", e);

    private static string Describe(AmazonS3Exception e)
        => $"{(int)e.StatusCode} {e.ErrorCode}: {e.Message}";
}
