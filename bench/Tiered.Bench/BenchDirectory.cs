namespace Tiered.Bench;

/// <summary>
/// The directory a benchmark keeps its data in: the disk probe and every server write here, so
/// the probe measures the disk the servers use. A directory the benchmark created is deleted
/// afterwards; one given with --data-dir is kept.
/// </summary>
public sealed class BenchDirectory : IDisposable
{
    private readonly bool _owned;

    public BenchDirectory(string? given)
    {
        _owned = given is null;
        Path = given is null
            ? Directory.CreateTempSubdirectory("tiered-bench-").FullName
            : Directory.CreateDirectory(given).FullName;
        // MetadataCluster puts its data root under Path.GetTempPath(), which reads TMPDIR on every
        // call: pointing it here keeps the metadata nodes' logs on the disk that was probed.
        Environment.SetEnvironmentVariable("TMPDIR", Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        if (!_owned)
            return;
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
