using System.Security.Cryptography;
using System.Buffers;
using Amazon.S3.Model;

namespace Tiered.Offloader.Stores;

public sealed partial class S3ObjectStore
{
    /// <summary>Parts of one object uploaded at the same time.</summary>
    private const int PartsInFlight = 2;

    /// <summary>
    /// Initiate, upload parts of <see cref="S3ObjectStoreOptions.PartSize"/> (<see cref="PartsInFlight"/>
    /// at a time, each with its Content-MD5 and its ETag checked), complete. Any failure aborts the
    /// upload, so S3 never shows (nor bills for) a partial object.
    /// </summary>
    private async Task PutInPartsAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        var initiate = new InitiateMultipartUploadRequest { BucketName = _options.Bucket, Key = _keyPrefix + key };
        var upload = await CallAsync("start a multipart upload of", key, () => _client.InitiateMultipartUploadAsync(initiate, cancellationToken), cancellationToken).ConfigureAwait(false);
        var partSize = (int)_options.PartSize;
        var inFlight = new Queue<Task<PartETag>>();
        List<byte[]> buffers = [];
        try
        {
            List<PartETag> parts = [];
            for (var partNumber = 1; ; partNumber++)
            {
                if (inFlight.Count == PartsInFlight)
                    parts.Add(await inFlight.Dequeue().ConfigureAwait(false));
                var buffer = buffers.Count < PartsInFlight ? Rent(buffers, partSize) : buffers[(partNumber - 1) % PartsInFlight];
                var length = await content.ReadAtLeastAsync(buffer.AsMemory(0, partSize), partSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (length == 0 && partNumber > 1)
                    break;
                inFlight.Enqueue(UploadPartAsync(key, upload.UploadId, partNumber, buffer, length, cancellationToken));
                if (length < partSize)
                    break;
            }
            while (inFlight.Count > 0)
                parts.Add(await inFlight.Dequeue().ConfigureAwait(false));
            var complete = new CompleteMultipartUploadRequest
            {
                BucketName = _options.Bucket,
                Key = _keyPrefix + key,
                UploadId = upload.UploadId,
                PartETags = parts,
            };
            await CallAsync("complete the multipart upload of", key, () => _client.CompleteMultipartUploadAsync(complete, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await Task.WhenAll(inFlight.Cast<Task>()).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await AbortQuietlyAsync(key, upload.UploadId).ConfigureAwait(false);
            throw;
        }
        finally
        {
            foreach (var buffer in buffers)
                ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static byte[] Rent(List<byte[]> buffers, int size)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        buffers.Add(buffer);
        return buffer;
    }

    private async Task<PartETag> UploadPartAsync(string key, string uploadId, int partNumber, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        using var part = new MemoryStream(buffer, 0, length, writable: false);
        var md5 = MD5.HashData(buffer.AsSpan(0, length));
        var request = new UploadPartRequest
        {
            MD5Digest = Convert.ToBase64String(md5),
            BucketName = _options.Bucket,
            Key = _keyPrefix + key,
            UploadId = uploadId,
            PartNumber = partNumber,
            PartSize = length,
            InputStream = part,
            UseChunkEncoding = _options.UseChunkEncoding,
        };
        var uploaded = await CallAsync("upload a part of", key, () => _client.UploadPartAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
        CheckETag(key, uploaded.ETag, md5, $"part {partNumber}");
        return new PartETag(partNumber, uploaded.ETag);
    }

    private async Task AbortQuietlyAsync(string key, string uploadId)
    {
        var abort = new AbortMultipartUploadRequest { BucketName = _options.Bucket, Key = _keyPrefix + key, UploadId = uploadId };
        try
        {
            // Not the caller's token: a cancelled put must still clean up its parts.
            using var timeout = new CancellationTokenSource(_options.Timeout);
            await _client.AbortMultipartUploadAsync(abort, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The upload stays invisible either way; a bucket lifecycle rule reaps abandoned parts.
        }
    }
}
