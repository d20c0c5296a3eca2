using System.Globalization;
using Grpc.Net.Client;
using Tiered.Testing;
using Tiered.V1;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>
/// A server that goes idle after load gives its heap back to the operating system: without it,
/// the GC never runs in an idle process and the load's heap stays resident for as long as it idles.
/// </summary>
public sealed class IdleMemoryTests
{
    [Fact]
    public async Task Standalone_gives_memory_back_once_idle_after_a_load()
    {
        using var standalone = new Standalone();
        await standalone.StartAsync();
        var pid = standalone.Process!.Pid;
        var before = ResidentMiB(pid);

        // About 60 MB through the broker, then nothing.
        using (var channel = GrpcChannel.ForAddress(standalone.Url))
        {
            var client = new Messaging.MessagingClient(channel);
            await using var producer = await RawProducer.OpenAsync(client, "persistent://public/default/idle-after-load");
            var payload = new string('x', 1000);
            var answers = await producer.SendAllAsync(Enumerable.Range(0, 600).Select(_ => RawProducer.Batch(Enumerable.Repeat(payload, 100))), window: 64);
            Assert.All(answers, a => Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, a.ResponseCase));
        }
        var loaded = ResidentMiB(pid);
        Assert.True(loaded - before > 60, $"the load should have grown the process: {before} MiB before, {loaded} MiB after");

        // Idle: within two minutes (releases come after 10 s and 60 s without load) at least a third of
        // the growth is given back. Without the release, the resident size stays where the load left it.
        var target = loaded - (loaded - before) / 3;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        var now = loaded;
        while (DateTime.UtcNow < deadline && (now = ResidentMiB(pid)) > target)
            await Task.Delay(1000);
        Assert.True(now <= target, $"resident {before} MiB idle before the load, {loaded} MiB after it, still {now} MiB after two idle minutes (aim: {target} MiB)");
    }

    private static long ResidentMiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
    }
}
