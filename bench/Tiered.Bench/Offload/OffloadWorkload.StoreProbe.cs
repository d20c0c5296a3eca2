using System.Diagnostics;

namespace Tiered.Bench.Offload;

public sealed partial class OffloadWorkload
{
    private const string ProbeKey = "bench-probe/object.parquet";

    /// <summary>
    /// The store alone, through Tiered's store client: one offloaded object read whole (as the
    /// offload's verification does) into memory, then written back under another key (as the
    /// offload's upload does), then deleted. What an offload can reach at most on this store.
    /// </summary>
    public async Task<IReadOnlyList<ThroughputResult>> StoreProbeAsync(string store, CancellationToken cancellationToken)
    {
        using var storage = NewStorage();
        var objects = storage.GetStore(AddressOf(store));
        Offloader.StoredObject? largest = null;
        await foreach (var stored in objects.ListAsync("", cancellationToken))
        {
            if (largest is null || stored.Size > largest.Value.Size)
                largest = stored;
        }
        var source = largest ?? throw new InvalidOperationException($"No object in the {store} store to probe it with.");
        Console.Error.WriteLine($"  [{store} store] reading and writing one {source.Size / 1e6:N0} MB object...");

        using var copy = new MemoryStream(checked((int)source.Size));
        var cpu = StartCpu();
        var gc = new GcMeter();
        var started = Stopwatch.GetTimestamp();
        await using (var content = await objects.OpenReadAsync(source.Key, cancellationToken))
            await content.CopyToAsync(copy, 1 << 20, cancellationToken);
        var get = new ThroughputResult($"store GET only ({store}, 1 object)", store, 0, 0, copy.Length, Stopwatch.GetElapsedTime(started), cpu.Stop(), ServerNames, Gc: gc.Stop());

        copy.Position = 0;
        cpu = StartCpu();
        gc = new GcMeter();
        started = Stopwatch.GetTimestamp();
        await objects.PutAsync(ProbeKey, copy, cancellationToken);
        var put = new ThroughputResult($"store PUT only ({store}, 1 object)", store, 0, 0, copy.Length, Stopwatch.GetElapsedTime(started), cpu.Stop(), ServerNames, Gc: gc.Stop());
        await objects.DeleteAsync(ProbeKey, cancellationToken);
        return [get, put];
    }
}
