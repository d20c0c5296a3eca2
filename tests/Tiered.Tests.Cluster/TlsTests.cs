using System.Text;
using Tiered.Client;
using Tiered.Testing;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>
/// TLS on the wire, with certificates the test makes (<see cref="TestCertificates"/>): a standalone serving TLS with
/// --tls-cert-file/--tls-key-file, the .NET client and the CLI trusting its CA with TlsTrustCertsFile /
/// --tls-trust-certs-file, clients that do not trust it refused with a message naming the option, and start-up
/// errors that name the bad file.
/// </summary>
public sealed class TlsTests : IDisposable
{
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(90);
    private readonly TestCertificates _certificates = new();
    private readonly List<TieredProcess> _processes = [];

    [Fact]
    public async Task Standalone_serves_tls_and_a_client_that_trusts_the_ca_produces_and_consumes()
    {
        using var standalone = new Standalone("--tls-cert-file", _certificates.ServerCertFile, "--tls-key-file", _certificates.ServerKeyFile);
        await standalone.StartAsync();
        Assert.Contains($"broker on https://127.0.0.1:{standalone.GrpcPort}", standalone.Process!.Output, StringComparison.Ordinal);
        var url = $"https://127.0.0.1:{standalone.GrpcPort}";

        await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = url, TlsTrustCertsFile = _certificates.CaFile });
        var lookup = await client.LookupAsync("tls-topic");
        Assert.True(lookup.BrokerTls, "the lookup must tell clients that the broker serves TLS");
        Assert.StartsWith("https://", lookup.BrokerUrl, StringComparison.Ordinal);

        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("tls-topic", "s"));
        await using (var producer = await client.CreateProducerAsync(new ProducerOptions("tls-topic")))
        {
            for (var i = 0; i < 10; i++)
                await producer.SendAsync(Encoding.UTF8.GetBytes($"secret-{i}"));
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 10; i++)
        {
            var message = await consumer.ReceiveAsync(timeout.Token);
            Assert.Equal($"secret-{i}", Encoding.UTF8.GetString(message.Payload.Span));
            await consumer.AcknowledgeAsync(message);
        }

        // Cleartext to the TLS port does not get through either.
        await using var plain = new TieredClient(new TieredClientOptions { ServiceUrl = $"http://127.0.0.1:{standalone.GrpcPort}", OperationTimeout = TimeSpan.FromSeconds(5) });
        await Assert.ThrowsAnyAsync<Exception>(() => plain.LookupAsync("tls-topic"));
    }

    [Fact]
    public async Task Clients_that_do_not_trust_the_ca_are_refused_with_a_message_naming_the_option()
    {
        using var standalone = new Standalone("--tls-cert-file", _certificates.ServerCertFile, "--tls-key-file", _certificates.ServerKeyFile);
        await standalone.StartAsync();
        var url = $"https://127.0.0.1:{standalone.GrpcPort}";

        foreach (var trust in new[] { null, _certificates.OtherCaFile })
        {
            await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = url, TlsTrustCertsFile = trust });
            var lookup = await Assert.ThrowsAsync<TieredClientException>(() => client.LookupAsync("t"));
            Assert.Contains("server certificate is not trusted", lookup.Message, StringComparison.Ordinal);
            Assert.Contains("TlsTrustCertsFile (--tls-trust-certs-file)", lookup.Message, StringComparison.Ordinal);
            var producer = await Assert.ThrowsAsync<TieredClientException>(() => client.CreateProducerAsync(new ProducerOptions("t")));
            Assert.Contains("server certificate is not trusted", producer.Message, StringComparison.Ordinal);
        }

        // The host name is checked too: the certificate names 127.0.0.1 and localhost, not 127.0.0.2.
        await using var wrongHost = new TieredClient(new TieredClientOptions
        {
            ServiceUrl = $"https://127.0.0.2:{standalone.GrpcPort}",
            TlsTrustCertsFile = _certificates.CaFile,
            OperationTimeout = TimeSpan.FromSeconds(10),
        });
        await Assert.ThrowsAsync<TieredClientException>(() => wrongHost.LookupAsync("t"));

        var (code, output) = await TieredProcess.RunAsync(Run, "produce", "t", "--message", "x", "--url", url);
        Assert.True(code == 1, output);
        Assert.Contains("server certificate is not trusted", output, StringComparison.Ordinal);
        Assert.Contains("--tls-trust-certs-file", output, StringComparison.Ordinal);
        (code, output) = await TieredProcess.RunAsync(Run, "admin", "tenants", "list", "--admin-url", $"https://127.0.0.1:{standalone.HttpPort}");
        Assert.True(code == 1, output);
        Assert.Contains("server certificate is not trusted", output, StringComparison.Ordinal);
        Assert.Contains("--tls-trust-certs-file", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cli_produces_consumes_and_administers_over_tls()
    {
        using var standalone = new Standalone("--tls-cert-file", _certificates.ServerCertFile, "--tls-key-file", _certificates.ServerKeyFile);
        await standalone.StartAsync();
        var url = $"https://127.0.0.1:{standalone.GrpcPort}";
        var adminUrl = $"https://localhost:{standalone.HttpPort}";
        string[] trust = ["--tls-trust-certs-file", _certificates.CaFile];

        var (code, output) = await TieredProcess.RunAsync(Run, ["admin", "topics", "create", "cli-tls", "--admin-url", adminUrl, .. trust]);
        Assert.True(code == 0, output);
        (code, output) = await TieredProcess.RunAsync(Run, ["admin", "topics", "create-subscription", "cli-tls", "--subscription", "s", "--admin-url", adminUrl, .. trust]);
        Assert.True(code == 0, output);
        (code, output) = await TieredProcess.RunAsync(Run, ["produce", "cli-tls", "--message", "over tls", "--url", url, .. trust]);
        Assert.True(code == 0, output);
        (code, output) = await TieredProcess.RunAsync(Run, ["consume", "cli-tls", "--subscription", "s", "--count", "1", "--url", url, .. trust]);
        Assert.True(code == 0, output);
        Assert.Contains("over tls", output, StringComparison.Ordinal);
        (code, output) = await TieredProcess.RunAsync(Run, ["admin", "topics", "stats", "cli-tls", "--admin-url", adminUrl, .. trust]);
        Assert.True(code == 0, output);
        Assert.Contains("\"msgInCounter\": 1", output, StringComparison.Ordinal);
        (code, output) = await TieredProcess.RunAsync(Run, ["admin", "brokers", "list", "standalone", "--admin-url", adminUrl, .. trust]);
        Assert.True(code == 0, output);

        // The HTTP port is HTTPS only: health over cleartext gets no answer.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await Assert.ThrowsAnyAsync<Exception>(() => http.GetAsync($"http://127.0.0.1:{standalone.HttpPort}/health/live"));
    }

    [Fact]
    public async Task A_node_grpc_client_trusting_the_ca_looks_up_follows_broker_tls_and_round_trips()
    {
        using var standalone = new Standalone("--tls-cert-file", _certificates.ServerCertFile, "--tls-key-file", _certificates.ServerKeyFile);
        await standalone.StartAsync();
        var address = $"127.0.0.1:{standalone.GrpcPort}";

        var (exit, line, errors) = await NodeScript.RunAsync("lookup-dial.js", Run, address, "persistent://public/default/node-tls-dial", "10", _certificates.CaFile);
        Assert.True(exit == 0, $"node exited with {exit}: {line}{errors}");
        Assert.Contains("\"brokerTls\":true", line, StringComparison.Ordinal);
        Assert.Contains("\"consumed\":10,\"complete\":true", line, StringComparison.Ordinal);

        (exit, line, errors) = await NodeScript.RunAsync("produce-consume.js", Run, address, "persistent://public/default/node-tls", "50", _certificates.CaFile);
        Assert.True(exit == 0, $"node exited with {exit}: {line}{errors}");
        Assert.Contains("\"consumed\":50,\"inOrder\":true", line, StringComparison.Ordinal);

        // Trusting another CA, the handshake fails.
        (exit, line, errors) = await NodeScript.RunAsync("produce-consume.js", Run, address, "persistent://public/default/node-tls", "1", _certificates.OtherCaFile);
        Assert.True(exit != 0, $"node trusting another CA got through: {line}{errors}");
    }

    [Fact]
    public async Task A_cluster_of_separate_processes_runs_tls_between_its_components_too()
    {
        int Port() => TieredProcess.FreePort();
        var (metadataPort, raftPort, metadataHttp, bookiePort, bookieHttp, grpcPort, brokerHttp, siloPort) = (Port(), Port(), Port(), Port(), Port(), Port(), Port(), Port());
        string[] serve = ["--tls-cert-file", _certificates.ServerCertFile, "--tls-key-file", _certificates.ServerKeyFile, "--log-level", "Warning"];
        string[] trust = ["--tls-trust-certs-file", _certificates.CaFile];
        var data = Path.Combine(_certificates.Directory, "data");
        var metadata = await StartAsync(["metadata", "--listen", $"127.0.0.1:{metadataPort}", "--peers", $"127.0.0.1:{raftPort}", "--http-listen", $"127.0.0.1:{metadataHttp}",
            "--data-dir", Path.Combine(data, "metadata"), .. serve]);
        Assert.Contains($"listening on https://127.0.0.1:{metadataPort}", metadata.Output, StringComparison.Ordinal);
        // The bookie and the broker reach the metadata service (and the broker the bookie) over TLS, trusting the CA.
        await StartAsync(["bookie", "--metadata", $"127.0.0.1:{metadataPort}", "--listen", $"127.0.0.1:{bookiePort}", "--http-listen", $"127.0.0.1:{bookieHttp}",
            "--data-dir", Path.Combine(data, "bookie"), "--journal-preallocation-mb", "0", "--no-auto-recovery", .. serve, .. trust]);
        var broker = await StartAsync(["broker", "--metadata", $"127.0.0.1:{metadataPort}", "--grpc-listen", $"127.0.0.1:{grpcPort}", "--http-listen", $"127.0.0.1:{brokerHttp}",
            "--silo-port", siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--ensemble-size", "1", "--write-quorum", "1", "--ack-quorum", "1", .. serve, .. trust]);
        Assert.Contains($"broker listening on https://127.0.0.1:{grpcPort}", broker.Output, StringComparison.Ordinal);

        // initialize-cluster reaches the TLS metadata service with the CA as well.
        var (code, output) = await TieredProcess.RunAsync(Run, ["initialize-cluster", "--metadata", $"127.0.0.1:{metadataPort}", "--cluster-name", "standalone",
            "--web-service-url", $"https://127.0.0.1:{brokerHttp}", "--broker-service-url", $"https://127.0.0.1:{grpcPort}", .. trust]);
        Assert.True(code == 0, output);
        Assert.Contains("cluster standalone initialized", output, StringComparison.Ordinal);

        var ca = Tiered.Proto.Tls.TlsTrust.Load(_certificates.CaFile);
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = ca.ClientOptions() });
        var admin = $"https://127.0.0.1:{brokerHttp}/admin/v2";
        foreach (var (path, body) in new[]
        {
            ("tenants/secure", """{"adminRoles":[],"allowedClusters":["standalone"]}"""),
            ("namespaces/secure/ns", "{}"),
        })
        {
            using var response = await http.PutAsync($"{admin}/{path}", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = $"https://127.0.0.1:{grpcPort}", TlsTrustCertsFile = _certificates.CaFile });
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("persistent://secure/ns/t", "s"));
        await using (var producer = await client.CreateProducerAsync(new ProducerOptions("persistent://secure/ns/t")))
            await producer.SendAsync(Encoding.UTF8.GetBytes("stored over tls"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var message = await consumer.ReceiveAsync(timeout.Token);
        Assert.Equal("stored over tls", Encoding.UTF8.GetString(message.Payload.Span));
        // The bookie registered and the broker wrote to it: its add latency counted the entry.
        using var metrics = await http.GetAsync($"https://127.0.0.1:{bookieHttp}/metrics");
        Assert.Contains("tiered_bookie_add_latency_seconds", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replication_to_a_cluster_serving_tls_verifies_it_against_the_brokers_ca()
    {
        string[] tls = ["--tls-cert-file", _certificates.ServerCertFile, "--tls-key-file", _certificates.ServerKeyFile, "--tls-trust-certs-file", _certificates.CaFile];
        using var a = new Standalone(["--cluster-name", "a", .. tls]);
        using var b = new Standalone(["--cluster-name", "b", .. tls]);
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        var ca = Tiered.Proto.Tls.TlsTrust.Load(_certificates.CaFile);
        foreach (var (local, remote, remoteName) in new[] { (a, b, "b"), (b, a, "a") })
        {
            using var http = new HttpClient(new SocketsHttpHandler { SslOptions = ca.ClientOptions() }) { BaseAddress = new Uri($"https://127.0.0.1:{local.HttpPort}") };
            foreach (var (method, path, body) in new[]
            {
                (HttpMethod.Put, $"/admin/v2/clusters/{remoteName}", $$"""{"serviceUrl":"https://127.0.0.1:{{remote.HttpPort}}","brokerServiceUrl":"https://127.0.0.1:{{remote.GrpcPort}}"}"""),
                (HttpMethod.Post, "/admin/v2/tenants/public", """{"adminRoles":[],"allowedClusters":["a","b"]}"""),
                (HttpMethod.Put, "/admin/v2/namespaces/public/geo", """{"replication_clusters":["a","b"]}"""),
            })
            {
                using var response = await http.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
                Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }

        const string topic = "persistent://public/geo/over-tls";
        await using var clientA = new TieredClient(new TieredClientOptions { ServiceUrl = $"https://127.0.0.1:{a.GrpcPort}", TlsTrustCertsFile = _certificates.CaFile });
        await using var clientB = new TieredClient(new TieredClientOptions { ServiceUrl = $"https://127.0.0.1:{b.GrpcPort}", TlsTrustCertsFile = _certificates.CaFile });
        await using var consumerB = await clientB.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest });
        await using (var producer = await clientA.CreateProducerAsync(new ProducerOptions(topic)))
        {
            for (var i = 0; i < 20; i++)
                await producer.SendAsync(Encoding.UTF8.GetBytes($"geo-{i}"));
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        for (var i = 0; i < 20; i++)
        {
            var message = await consumerB.ReceiveAsync(timeout.Token);
            Assert.Equal($"geo-{i}", Encoding.UTF8.GetString(message.Payload.Span));
        }
    }

    private async Task<TieredProcess> StartAsync(string[] args)
    {
        var process = await TieredProcess.StartAsync("listening on", Standalone.StartTimeout, args);
        _processes.Add(process);
        return process;
    }

    [Fact]
    public async Task Bad_certificate_or_key_files_stop_the_start_with_a_message_naming_the_file()
    {
        var missing = Path.Combine(_certificates.Directory, "missing.pem");
        var notPem = _certificates.Write("not-pem.pem", "this is no certificate\n");
        var cases = new (string Cert, string Key, string Expected, string Named)[]
        {
            (missing, _certificates.ServerKeyFile, "does not exist", missing),
            (notPem, _certificates.ServerKeyFile, "holds no PEM certificate", notPem),
            (_certificates.ServerCertFile, notPem, "holds no PEM private key", notPem),
            (_certificates.ServerCertFile, _certificates.ExpiredKeyFile, "is not the key of the certificate", _certificates.ExpiredKeyFile),
            (_certificates.ExpiredCertFile, _certificates.ExpiredKeyFile, "expired on", _certificates.ExpiredCertFile),
        };
        foreach (var command in new[] { "broker", "bookie", "metadata", "standalone" })
        {
            foreach (var (cert, key, expected, named) in cases)
            {
                var (code, output) = await TieredProcess.RunAsync(Run, command, "--tls-cert-file", cert, "--tls-key-file", key);
                Assert.True(code == 2, $"{command}: {output}");
                Assert.Contains(expected, output, StringComparison.Ordinal);
                Assert.Contains(named, output, StringComparison.Ordinal);
            }
        }
        foreach (var command in new[] { new[] { "produce", "t", "--message", "x" }, ["admin", "tenants", "list"], ["broker"] })
        {
            var (code, output) = await TieredProcess.RunAsync(Run, [.. command, "--tls-trust-certs-file", notPem]);
            Assert.True(code == 2, $"{command[0]}: {output}");
            Assert.Contains($"--tls-trust-certs-file: {notPem} holds no PEM certificate", output, StringComparison.Ordinal);
        }
        var (onlyCert, alone) = await TieredProcess.RunAsync(Run, "broker", "--tls-cert-file", _certificates.ServerCertFile);
        Assert.True(onlyCert == 2, alone);
        Assert.Contains("--tls-cert-file is given without --tls-key-file", alone, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        foreach (var process in _processes)
            process.Dispose();
        _certificates.Dispose();
    }
}
