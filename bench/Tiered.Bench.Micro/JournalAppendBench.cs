using BenchmarkDotNet.Attributes;
using Tiered.Bookie.Storage;

namespace Tiered.Bench.Micro;

/// <summary>
/// The journal alone: <see cref="Records"/> records of <see cref="RecordBytes"/> appended at once (one group, one write,
/// one fsync), written with direct I/O or through the page cache. Figures are per record; the fsync is most of them,
/// the rest is the framing and the write (a copy into the page cache when not direct).
/// </summary>
[MemoryDiagnoser]
public class JournalAppendBench
{
    private const int Records = 100;

    private readonly ValueTask<JournalPosition>[] _appends = new ValueTask<JournalPosition>[Records];
    private JournalPosition _last;
    private byte[] _record = [];
    private string _directory = "";
    private Journal _journal = null!;

    [Params(1024, 16 * 1024)]
    public int RecordBytes { get; set; }

    [Params(true, false)]
    public bool Direct { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "tiered-journal-bench-" + Guid.NewGuid().ToString("N"));
        _journal = Journal.Open(new JournalOptions(_directory) { WriteDirectly = Direct });
        _record = new byte[RecordBytes];
        Random.Shared.NextBytes(_record);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_journal.WritesDirectly != Direct)
            throw new InvalidOperationException($"The journal wrote {(_journal.WritesDirectly ? "directly" : "through the page cache")}, not as asked.");
        await _journal.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public async Task Append()
    {
        // Kept to await after all are issued, each exactly once.
#pragma warning disable CA2012
        for (var i = 0; i < Records; i++)
            _appends[i] = _journal.AppendAsync(_record);
#pragma warning restore CA2012
        for (var i = 0; i < Records; i++)
            _last = await _appends[i];
    }

    /// <summary>Outside the measured time: the files written so far go, as a bookie's checkpoint lets them.</summary>
    [IterationCleanup]
    public void Checkpoint() => _journal.Checkpoint(_last);
}
