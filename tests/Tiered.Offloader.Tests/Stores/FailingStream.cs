namespace Tiered.Offloader.Tests.Stores;

/// <summary>A seekable source that throws once a reader gets past <c>failAt</c> bytes: a disk or network failing under a put.</summary>
internal sealed class FailingStream(byte[] data, int failAt) : Stream
{
    public const string FailureMessage = "the source of the put failed on purpose";

    private readonly MemoryStream _data = new(data, writable: false);

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _data.Length;

    public override long Position
    {
        get => _data.Position;
        set => _data.Position = value;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
            return 0;
        var allowed = (int)Math.Min(buffer.Length, Math.Max(0, failAt - Position));
        if (allowed == 0 && Position < Length)
            throw new IOException(FailureMessage);
        return _data.Read(buffer[..allowed]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(Read(buffer.Span));

    public override long Seek(long offset, SeekOrigin origin) => _data.Seek(offset, origin);

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Whether <paramref name="error"/> or one of its causes is this stream's failure.</summary>
    public static bool Caused(Exception error)
    {
        for (Exception? cause = error; cause is not null; cause = cause.InnerException)
        {
            if (cause.Message.Contains(FailureMessage, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _data.Dispose();
        base.Dispose(disposing);
    }
}
