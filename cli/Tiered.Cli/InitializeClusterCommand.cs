using System.CommandLine;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Metadata;

namespace Tiered.Cli;

/// <summary>
/// <c>tiered initialize-cluster</c>: what a new multi-process cluster needs before its first
/// produce (Pulsar's <c>initialize-cluster-metadata</c>): the cluster record, the "public" tenant
/// and the "public/default" namespace. Run it once; running it again changes nothing.
/// </summary>
internal static class InitializeClusterCommand
{
    public static Command Create()
    {
        var metadata = new Option<string>("--metadata")
        {
            HelpName = "HOST:PORT,...",
            Description = "Client addresses of the metadata service nodes.",
            DefaultValueFactory = _ => "127.0.0.1:2181",
        };
        var cluster = new Option<string>("--cluster-name") { HelpName = "NAME", Description = "The cluster's name (brokers are started with it).", Required = true };
        var webServiceUrl = new Option<string>("--web-service-url") { HelpName = "URL", Description = "The HTTP URL of the cluster's admin API, e.g. http://broker-1:8080.", Required = true };
        var brokerServiceUrl = new Option<string>("--broker-service-url") { HelpName = "URL", Description = "The gRPC URL clients use, e.g. http://broker-1:6650.", Required = true };
        var bundles = new Option<int>("--default-bundles")
        {
            HelpName = "N",
            Description = "Bundles the public/default namespace is cut into (1-1024).",
            DefaultValueFactory = _ => NamespaceBundles.DefaultCount,
        };
        var trust = new Option<string?>("--tls-trust-certs-file")
        {
            HelpName = "PEM",
            Description = "CA certificates (PEM) of the metadata nodes' TLS certificates: given, the nodes are reached over TLS.",
        };
        var command = new Command("initialize-cluster",
            "Create what a new cluster needs before its first produce: the cluster record, the 'public' tenant and the "
            + "'public/default' namespace, in the metadata service. What exists already is left as it is.")
        {
            metadata, cluster, webServiceUrl, brokerServiceUrl, bundles, trust,
        };
        // A metadata service that checks tokens serves only super-users: the components' token does.
        TokenOptions.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var name = parseResult.GetValue(cluster)!;
            if (!NamespaceName.IsValidPart(name))
                return Exit.Error(Exit.BadOptions, $"--cluster-name '{Names.Quote(name)}' is not a cluster name: use 1-128 letters, digits or - _ = : . characters.");
            foreach (var (option, value) in new[] { (webServiceUrl, parseResult.GetValue(webServiceUrl)!), (brokerServiceUrl, parseResult.GetValue(brokerServiceUrl)!) })
            {
                if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    return Exit.Error(Exit.BadOptions, $"{option.Name} '{Names.Quote(value)}' is not an http:// or https:// URL.");
            }
            if (parseResult.GetValue(bundles) is < 1 or > 1024)
                return Exit.Error(Exit.BadOptions, $"--default-bundles must be between 1 and 1024 (was {parseResult.GetValue(bundles)}).");
            var addresses = parseResult.GetValue(metadata)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Tiered.Proto.Tls.TlsTrust? tls;
            Tiered.Proto.Auth.CallToken? token;
            try
            {
                tls = parseResult.GetValue(trust) is { Length: > 0 } file ? Tiered.Proto.Tls.TlsTrust.Load(file) : null;
                token = TokenOptions.Resolve(parseResult) is { } resolved ? Tiered.Proto.Auth.CallToken.Fixed(resolved) : null;
            }
            catch (ArgumentException e)
            {
                return Exit.Error(Exit.BadOptions, e.Message.Replace("TlsTrustCertsFile (--tls-trust-certs-file)", "--tls-trust-certs-file", StringComparison.Ordinal));
            }
            try
            {
                await using var store = new MetadataClient(addresses, tls: tls, token: token);
                var created = await ClusterDefaults.CreateAsync(store, name, parseResult.GetValue(webServiceUrl)!, parseResult.GetValue(brokerServiceUrl)!, cancellationToken,
                    parseResult.GetValue(bundles));
                Console.WriteLine(created.Count == 0
                    ? $"cluster {name} was already initialized; nothing changed"
                    : $"cluster {name} initialized: created {string.Join(", ", created)}");
                return Exit.Ok;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return Exit.Error(Exit.Failed, $"could not initialize cluster {name} in the metadata service at {string.Join(',', addresses)}: {e.Message}");
            }
        });
        return command;
    }
}
