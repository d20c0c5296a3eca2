using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie.Storage;
using Tiered.Bookie.V1;
using Tiered.Ledger;
using Tiered.Testing;

namespace Tiered.Bookie.Tests;

/// <summary>
/// /health/ready of a bookie, what Kubernetes' readiness probe asks: ready while registered and writable;
/// a bookie that turned read-only still answers /health/live but is no longer ready.
/// </summary>
public sealed class BookieReadinessTests
{
    [Fact]
    public async Task A_bookie_is_ready_while_writable_and_not_ready_once_read_only()
    {
        await using var metadata = await LocalMetadata.StartAsync();
        var journalFailed = 0;
        var hooks = new JournalTestHooks
        {
            BeforeWrite = () =>
            {
                if (Volatile.Read(ref journalFailed) == 1)
                    throw new IOException("No space left on device");
            },
        };
        var httpPort = LocalMetadata.FreePort();
        var options = new BookieOptions
        {
            Listen = $"127.0.0.1:{LocalMetadata.FreePort()}",
            HttpListen = $"127.0.0.1:{httpPort}",
            DataDir = Path.Combine(metadata.Root, "bookie"),
            Metadata = [metadata.ClientAddress],
            AutoRecovery = false,
            JournalPreallocationBytes = 0,
        };
        await using var bookie = await BookieServer.StartAsync(options, NullLoggerFactory.Instance, metadata.Store, hooks);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };

        var (status, body) = await GetAsync(http, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("registered, writable", body);

        // The journal fails (its disk filled): the bookie turns read-only at once.
        Volatile.Write(ref journalFailed, 1);
        Assert.NotEqual(Code.Ok, (await AddAsync(new Tiered.Bookie.V1.Bookie.BookieClient(bookie.LocalInvoker))).Code);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            (status, body) = await GetAsync(http, "/health/ready");
            if (status == HttpStatusCode.ServiceUnavailable)
                break;
            Assert.True(DateTime.UtcNow < deadline, $"/health/ready still answers {(int)status} 10 s after the journal failed: {body}");
            await Task.Delay(20);
        }
        Assert.Contains("read-only", body);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(http, "/health/live")).Status);
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<AddResponse> AddAsync(Tiered.Bookie.V1.Bookie.BookieClient client)
    {
        var payload = new byte[] { 1, 2, 3 };
        using var call = client.AddEntries();
        await call.RequestStream.WriteAsync(new AddRequest
        {
            LedgerId = 1,
            EntryId = 0,
            LastAddConfirmed = -1,
            Payload = ByteString.CopyFrom(payload),
            Digest = LedgerDigest.Compute(1, 0, -1, payload),
        });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return call.ResponseStream.Current;
    }
}
