using System.Threading.Channels;
using Tiered.Metadata.V1;

namespace Tiered.Metadata.State;

/// <summary>
/// Recent change history plus live watchers. A watcher registers under the state lock and
/// receives the backlog it asked for and then every new event, so it never sees a gap or a
/// duplicate. A watcher that falls <see cref="WatcherBuffer"/> events behind is ended with
/// <see cref="MetadataErrorCode.Compacted"/>; it resumes from its last revision.
/// </summary>
internal sealed class WatchHub
{
    public const int DefaultHistory = 100_000;
    public const int WatcherBuffer = 10_000;

    private readonly WatchEvent[] _history;
    private readonly List<Watcher> _watchers = [];
    private long _historyStart; // number of events ever published before the oldest kept one
    private long _count;        // events kept
    private long _baseRevision; // events with revision <= this are not in history

    public WatchHub(int historyCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(historyCapacity, 1);
        _history = new WatchEvent[historyCapacity];
    }

    public int WatcherCount => _watchers.Count;

    /// <summary>
    /// Forgets history (after a snapshot is installed): events up to <paramref name="revision"/> are
    /// no longer available, and live watchers, which would otherwise miss them silently, are ended
    /// with <see cref="MetadataErrorCode.Compacted"/>.
    /// </summary>
    public void Reset(long revision)
    {
        foreach (var w in _watchers)
        {
            w.Fail(new MetadataException(MetadataErrorCode.Compacted,
                $"This node installed a snapshot at revision {revision}; list the keys again and watch from the revision the list returns."));
        }
        _watchers.Clear();
        _baseRevision = revision;
        _historyStart = 0;
        _count = 0;
        Array.Clear(_history);
    }

    public void Publish(WatchEvent e)
    {
        if (_count == _history.Length)
        {
            _baseRevision = _history[_historyStart % _history.Length].Revision;
            _historyStart++;
            _count--;
        }
        _history[(_historyStart + _count) % _history.Length] = e;
        _count++;
        for (var i = _watchers.Count - 1; i >= 0; i--)
        {
            var w = _watchers[i];
            if (w.Closed)
            {
                _watchers.RemoveAt(i);
                continue;
            }
            // A watch resumed on a node that is behind starts after its requested revision, not before.
            if (e.Revision <= w.FromRevision || !e.Kv.Key.StartsWith(w.Prefix, StringComparison.Ordinal))
                continue;
            if (!w.Channel.Writer.TryWrite(e))
            {
                _watchers.RemoveAt(i);
                w.Fail(new MetadataException(MetadataErrorCode.Compacted,
                    $"Watch on '{w.Prefix}' fell more than {WatcherBuffer} events behind; resume it from the last revision received."));
            }
        }
    }

    /// <summary>
    /// Registers a watcher for events with revision greater than <paramref name="fromRevision"/>
    /// (0: from <paramref name="currentRevision"/> on).
    /// </summary>
    public ChannelReader<WatchEvent> Subscribe(string prefix, long fromRevision, long currentRevision, CancellationToken cancellationToken)
    {
        if (fromRevision < 0)
            throw new MetadataException(MetadataErrorCode.InvalidArgument, "A watch's start revision must be >= 0.");
        if (fromRevision == 0)
            fromRevision = currentRevision;
        if (fromRevision < _baseRevision)
            throw new MetadataException(MetadataErrorCode.Compacted,
                $"Revision {fromRevision} is older than the history this node keeps (from {_baseRevision}); list the keys again and watch from the current revision.");

        // The backlog (at most the kept history) goes into the watcher's channel at once, with
        // WatcherBuffer more places for live events on top.
        var backlog = new List<WatchEvent>();
        for (var i = 0L; i < _count; i++)
        {
            var e = _history[(_historyStart + i) % _history.Length];
            if (e.Revision > fromRevision && e.Kv.Key.StartsWith(prefix, StringComparison.Ordinal))
                backlog.Add(e);
        }
        var watcher = new Watcher(prefix, fromRevision, Channel.CreateBounded<WatchEvent>(new BoundedChannelOptions(backlog.Count + WatcherBuffer)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        }));
        foreach (var e in backlog)
            watcher.Channel.Writer.TryWrite(e);
        _watchers.RemoveAll(w => w.Closed);
        _watchers.Add(watcher);
        watcher.Registration = cancellationToken.Register(watcher.Close);
        return watcher.Channel.Reader;
    }

    private sealed class Watcher(string prefix, long fromRevision, Channel<WatchEvent> channel)
    {
        public string Prefix { get; } = prefix;
        public long FromRevision { get; } = fromRevision;
        public Channel<WatchEvent> Channel { get; } = channel;
        public CancellationTokenRegistration Registration { get; set; }
        public bool Closed { get; private set; }

        public void Close()
        {
            Closed = true;
            Channel.Writer.TryComplete();
        }

        public void Fail(MetadataException error)
        {
            Closed = true;
            Channel.Writer.TryComplete(error);
            Registration.Dispose();
        }
    }
}
