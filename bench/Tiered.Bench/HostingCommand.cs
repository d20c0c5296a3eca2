using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Grpc.Net.Client;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Bench;

/// <summary>
/// <c>tiered-bench hosting</c>: what the one-host-per-process layer costs. Start-up time and resident
/// memory of <c>tiered standalone</c> built from two trees (before and after the change), started in
/// turn; then the cost of a <c>/metrics</c> scrape of the current standalone, empty and with
/// <c>--topics</c> loaded topics, with metrics per namespace (the default) and per topic. Publish throughput and latency before and after are measured by
/// <c>tiered-bench broker</c> with <c>TIERED_CLI</c> pointing at each build (bench/hosting.sh).
/// </summary>
public static class HostingCommand
{
    public static Command Create()
    {
        var before = new Option<string>("--before") { HelpName = "TIERED_DLL", Description = "tiered.dll built from the tree before the change.", Required = true };
        var after = new Option<string>("--after") { HelpName = "TIERED_DLL", Description = "tiered.dll built from the tree after the change (default: this tree's Release build)." };
        var runs = CommandOptions.Positive("--runs", "N", "Start-ups measured per build (alternating).", 5);
        var topics = CommandOptions.Positive("--topics", "N", "Topics loaded before the scrapes.", 1000);
        var scrapes = CommandOptions.Positive("--scrapes", "N", "Scrapes of /metrics timed at each size.", 30);
        var command = new Command("hosting", "Start-up time and memory of tiered standalone before and after a change, and the cost of a /metrics scrape.")
        {
            before, after, runs, topics, scrapes,
        };
        command.SetAction((parseResult, ct) => RunAsync(parseResult.GetValue(before)!, parseResult.GetValue(after) ?? TieredProcess.CliPath,
            parseResult.GetValue(runs), parseResult.GetValue(topics), parseResult.GetValue(scrapes)));
        return command;
    }

    private static async Task<int> RunAsync(string before, string after, int runs, int topicCount, int scrapes)
    {
        var root = Directory.CreateTempSubdirectory("tiered-bench-hosting-").FullName;
        try
        {
            var (machine, fileSystem, disk) = BenchProbe.Run(root);
            Console.WriteLine($"machine: {machine}; data on {fileSystem}; disk {disk.FsyncPerSecond:N0} fsync/s, {disk.SequentialMBPerSecond:N0} MB/s sequential");
            Console.WriteLine();
            Console.WriteLine("| build | start-up to ready, median (min–max) | resident after ready, median |");
            Console.WriteLine("|---|---|---|");
            var samples = new Dictionary<string, List<(double Seconds, double ResidentMB)>> { ["before"] = [], ["after"] = [] };
            for (var run = 0; run < runs; run++)
            {
                foreach (var (label, dll) in new[] { ("before", before), ("after", after) })
                {
                    await using var standalone = await StandaloneRun.StartAsync(dll, Path.Combine(root, $"{label}-{run}"));
                    samples[label].Add((standalone.StartSeconds, ProcessMemory.Of(standalone.Pid).ResidentMB));
                    Console.Error.WriteLine($"{label} run {run + 1}: ready in {standalone.StartSeconds:F2} s");
                }
            }
            foreach (var (label, list) in samples)
            {
                var seconds = list.Select(s => s.Seconds).Order().ToList();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {label} | {Median(seconds):F2} s ({seconds[0]:F2}–{seconds[^1]:F2}) | {Median(list.Select(s => s.ResidentMB).Order().ToList()):F0} MB |"));
            }

            Console.WriteLine();
            Console.WriteLine("| /metrics scrape | median | p90 | max | body | standalone CPU per scrape |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var topicLevel in new[] { false, true })
            {
                var mode = topicLevel ? "per topic" : "per namespace";
                await using var standalone = await StandaloneRun.StartAsync(after, Path.Combine(root, $"scrape-{topicLevel}"), topicLevel ? ["--topic-level-metrics"] : []);
                using var http = new HttpClient();
                var url = $"http://127.0.0.1:{standalone.HttpPort}/metrics";
                await ScrapeAsync(http, url, standalone.Pid, scrapes, $"{mode}, no topic");
                using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{standalone.GrpcPort}");
                var client = new Messaging.MessagingClient(channel);
                for (var i = 0; i < topicCount; i++)
                {
                    await using var producer = await RawProducer.OpenAsync(client, $"persistent://public/default/scrape-{i}");
                    await producer.SendAllAsync([RawProducer.Batch(["m"])]);
                    if ((i + 1) % 200 == 0)
                        Console.Error.WriteLine($"{mode}: {i + 1} topics loaded");
                }
                await ScrapeAsync(http, url, standalone.Pid, scrapes, $"{mode}, {topicCount} topics");
            }
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task ScrapeAsync(HttpClient http, string url, int pid, int scrapes, string label)
    {
        // One untimed scrape first (JIT); the exporter caches a scrape for 300 ms: wait that out before
        // each, so every timed scrape is computed.
        await http.GetByteArrayAsync(url);
        var times = new List<double>();
        long bytes = 0;
        var cpu = TimeSpan.Zero;
        for (var i = 0; i < scrapes; i++)
        {
            await Task.Delay(350);
            var cpuBefore = ProcessorTime(pid);
            var started = Stopwatch.GetTimestamp();
            var body = await http.GetByteArrayAsync(url);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            cpu += ProcessorTime(pid) - cpuBefore;
            bytes = body.Length;
        }
        times.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {Median(times):F1} ms | {times[(int)(times.Count * 0.9)]:F1} ms | {times[^1]:F1} ms | {bytes / 1024.0:F0} KiB | {cpu.TotalMilliseconds / scrapes:F1} ms |"));
    }

    private static TimeSpan ProcessorTime(int pid)
    {
        try
        {
            return Process.GetProcessById(pid).TotalProcessorTime;
        }
        catch (ArgumentException)
        {
            return TimeSpan.Zero;
        }
    }

    private static double Median(IReadOnlyList<double> sorted) => sorted[sorted.Count / 2];

    /// <summary>One <c>tiered standalone</c> of a given build, on free ports, timed from launch to its ready line.</summary>
    private sealed class StandaloneRun : IAsyncDisposable
    {
        private readonly Process _process;

        private StandaloneRun(Process process, double startSeconds, int grpcPort, int httpPort)
            => (_process, StartSeconds, GrpcPort, HttpPort) = (process, startSeconds, grpcPort, httpPort);

        public double StartSeconds { get; }
        public int GrpcPort { get; }
        public int HttpPort { get; }
        public int Pid => _process.Id;

        public static async Task<StandaloneRun> StartAsync(string dll, string dataDir, string[]? extraArgs = null)
        {
            var (metadata, bookie, grpc, http) = (TieredProcess.FreePort(), TieredProcess.FreePort(), TieredProcess.FreePort(), TieredProcess.FreePort());
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { dll, "standalone", "--data-dir", dataDir, "--metadata-port", $"{metadata}", "--bookie-port", $"{bookie}",
                "--grpc-port", $"{grpc}", "--http-port", $"{http}", "--log-level", "Warning" }.Concat(extraArgs ?? []))
                info.ArgumentList.Add(arg);
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var started = Stopwatch.GetTimestamp();
            var process = Process.Start(info)!;
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data?.Contains("Tiered standalone ready", StringComparison.Ordinal) == true)
                    ready.TrySetResult();
            };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(120));
            return new StandaloneRun(process, Stopwatch.GetElapsedTime(started).TotalSeconds, grpc, http);
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
