using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Tiered.Client;
using Tiered.Metadata;
using Tiered.Proto.Auth;
using Tiered.Security.Tokens;
using Tiered.Testing;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>
/// The metadata service and the bookies check tokens too: a cluster of real processes (a metadata node, a bookie, a
/// broker) started with one secret key and the super-user role "component", whose token the bookie, the broker and
/// initialize-cluster present. Messages flow through the broker; a caller talking to the metadata node or the bookie
/// directly is refused without a token (UNAUTHENTICATED) and with a token of a role that is no super-user
/// (PERMISSION_DENIED), and a bookie without the component token cannot register.
/// </summary>
public sealed class ComponentAuthenticationTests : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly string _dir = Directory.CreateTempSubdirectory("tiered-components-").FullName;
    private readonly List<TieredProcess> _processes = [];
    private readonly int _metadataPort = TieredProcess.FreePort();
    private readonly int _bookiePort = TieredProcess.FreePort();
    private readonly int _grpcPort = TieredProcess.FreePort();
    private string _keyFile = "";
    private string _componentTokenFile = "";
    private string _componentToken = "";
    private string _appToken = "";

    private string MetadataAddress => $"127.0.0.1:{_metadataPort}";

    private string[] Security => ["--token-secret-key", _keyFile, "--superuser-roles", "component"];

    public async Task InitializeAsync()
    {
        var key = SecretKey.Create();
        _keyFile = Path.Combine(_dir, "secret.key");
        key.Write(_keyFile);
        _componentToken = TokenIssuer.Create(key, "component");
        _appToken = TokenIssuer.Create(key, "app");
        _componentTokenFile = Path.Combine(_dir, "component.token");
        await File.WriteAllTextAsync(_componentTokenFile, _componentToken);

        _processes.Add(await TieredProcess.StartAsync("listening on", StartTimeout,
            ["metadata", "--node-id", "1", "--listen", MetadataAddress, "--peers", $"127.0.0.1:{TieredProcess.FreePort()}",
             "--http-listen", $"127.0.0.1:{TieredProcess.FreePort()}", "--data-dir", Path.Combine(_dir, "metadata"), "--log-level", "Warning", .. Security]));
        _processes.Add(await StartBookieAsync(_bookiePort, "bookie-1", "--component-token-file", _componentTokenFile));
        var http = TieredProcess.FreePort();
        var (code, output) = await TieredProcess.RunAsync(StartTimeout, "initialize-cluster", "--metadata", MetadataAddress, "--cluster-name", "c1",
            "--web-service-url", $"http://127.0.0.1:{http}", "--broker-service-url", $"http://127.0.0.1:{_grpcPort}", "--token-file", _componentTokenFile);
        Assert.True(code == 0, output);
        _processes.Add(await TieredProcess.StartAsync("broker listening on", StartTimeout,
            ["broker", "--metadata", MetadataAddress, "--cluster-name", "c1", "--grpc-listen", $"127.0.0.1:{_grpcPort}", "--http-listen", $"127.0.0.1:{http}",
             "--silo-port", TieredProcess.FreePort().ToString(CultureInfo.InvariantCulture), "--ensemble-size", "1", "--write-quorum", "1", "--ack-quorum", "1",
             "--component-token-file", _componentTokenFile, "--log-level", "Warning", .. Security]));
    }

    private Task<TieredProcess> StartBookieAsync(int port, string dataDir, params string[] extra)
        => TieredProcess.StartAsync("listening on", StartTimeout,
            ["bookie", "--metadata", MetadataAddress, "--listen", $"127.0.0.1:{port}", "--http-listen", $"127.0.0.1:{TieredProcess.FreePort()}",
             "--data-dir", Path.Combine(_dir, dataDir), "--journal-preallocation-mb", "0", "--log-level", "Warning", .. Security, .. extra]);

    public Task DisposeAsync()
    {
        foreach (var process in _processes)
            process.Dispose();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Components_authenticate_to_each_other_and_clients_cannot_bypass_the_broker()
    {
        // Through the broker, whose writes reach the bookie and the metadata service with the component token.
        const int count = 200;
        await using (var client = new TieredClient(new TieredClientOptions { ServiceUrl = $"http://127.0.0.1:{_grpcPort}", Token = _componentToken }))
        {
            await using var consumer = await client.SubscribeAsync(new ConsumerOptions("components", "s"));
            await using (var producer = await client.CreateProducerAsync(new ProducerOptions("components")))
            {
                for (var i = 0; i < count; i++)
                    await producer.SendAsync(BitConverter.GetBytes(i));
            }
            var received = new HashSet<int>();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (received.Count < count)
            {
                var message = await consumer.ReceiveAsync(deadline.Token);
                Assert.True(received.Add(BitConverter.ToInt32(message.Payload.Span)), "a message arrived twice");
                await consumer.AcknowledgeAsync(message.Id);
            }
        }

        // The metadata service, directly: only the component role.
        await using (var anonymous = new MetadataClient([MetadataAddress], TimeSpan.FromSeconds(10)))
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(async () => await anonymous.GetAsync(Tiered.Broker.Metadata.MetadataPaths.Cluster("c1")));
            Assert.Contains("Authentication is required", e.Message, StringComparison.Ordinal);
        }
        await using (var app = new MetadataClient([MetadataAddress], TimeSpan.FromSeconds(10), token: CallToken.Fixed(_appToken)))
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(async () => await app.PutAsync("/intruder", new byte[] { 1 }));
            Assert.Contains("Role 'app' may not call the metadata service directly", e.Message, StringComparison.Ordinal);
        }
        await using (var component = new MetadataClient([MetadataAddress], TimeSpan.FromSeconds(10), token: CallToken.Fixed(_componentToken)))
        {
            Assert.NotNull(await component.GetAsync(Tiered.Broker.Metadata.MetadataPaths.Cluster("c1")));
            Assert.Null(await component.GetAsync("/intruder")); // the refused put created nothing
        }

        // The bookie, directly.
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{_bookiePort}");
        var bookie = new Tiered.Bookie.V1.Bookie.BookieClient(channel);
        var unauthenticated = await Assert.ThrowsAsync<RpcException>(async () => await bookie.InfoAsync(new Tiered.Bookie.V1.InfoRequest()));
        Assert.Equal(StatusCode.Unauthenticated, unauthenticated.StatusCode);
        var denied = await Assert.ThrowsAsync<RpcException>(async () => await bookie.DeleteLedgerAsync(new Tiered.Bookie.V1.DeleteLedgerRequest { LedgerId = 1 }, Bearer(_appToken)));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Contains("Role 'app' may not call the bookie directly", denied.Status.Detail, StringComparison.Ordinal);
        var info = await bookie.InfoAsync(new Tiered.Bookie.V1.InfoRequest(), Bearer(_componentToken));
        Assert.Equal($"127.0.0.1:{_bookiePort}", info.BookieId);

        // A bookie without the component token cannot register.
        var failed = await Assert.ThrowsAnyAsync<Exception>(() => StartBookieAsync(TieredProcess.FreePort(), "bookie-2"));
        Assert.Contains("Authentication is required", failed.Message, StringComparison.Ordinal);
    }

    private static Grpc.Core.Metadata Bearer(string token) => new() { { CallToken.HeaderName, "Bearer " + token } };
}
