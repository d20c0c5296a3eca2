using System.Security.Cryptography;
using System.Buffers;
using Amazon.S3.Model;

namespace Tiered.Offloader.Stores;

public sealed partial class S3ObjectStore
{
    /// <summary>
    /// Initiate, upload parts of <see cref="S3ObjectStoreOptions.PartSize"/> one at a time, complete.
    /// Any failure aborts the upload, so S3 never shows (nor bills for) a partial object.
    /// </summary>
    private async Task PutInPartsAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        var initiate = new InitiateMultipartUploadRequest { BucketName = _options.Bucket, Key = _keyPrefix + key };
        var upload = await CallAsync("start a multipart upload of", key, () => _client.InitiateMultipartUploadAsync(initiate, cancellationToken), cancellationToken).ConfigureAwait(false);
        var partSize = (int)_options.PartSize;
        var buffer = ArrayPool<byte>.Shared.Rent(partSize);
        try
        {
            List<PartETag> parts = [];
            for (var partNumber = 1; ; partNumber++)
            {
                var length = await content.ReadAtLeastAsync(buffer.AsMemory(0, partSize), partSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (length == 0 && partNumber > 1)
                    break;
                using var part = new MemoryStream(buffer, 0, length, writable: false);
                var md5 = MD5.HashData(buffer.AsSpan(0, length));
                var request = new UploadPartRequest
                {
                    MD5Digest = Convert.ToBase64String(md5),
                    BucketName = _options.Bucket,
                    Key = _keyPrefix + key,
                    UploadId = upload.UploadId,
                    PartNumber = partNumber,
                    PartSize = length,
                    InputStream = part,
                    UseChunkEncoding = _options.UseChunkEncoding,
                };
                var uploaded = await CallAsync("upload a part of", key, () => _client.UploadPartAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
                CheckETag(key, uploaded.ETag, md5, $"part {partNumber}");
                parts.Add(new PartETag(partNumber, uploaded.ETag));
                if (length < partSize)
                    break;
            }
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
            await AbortQuietlyAsync(key, upload.UploadId).ConfigureAwait(false);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
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
