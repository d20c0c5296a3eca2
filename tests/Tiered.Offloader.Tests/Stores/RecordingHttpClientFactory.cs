using Amazon.Runtime;

namespace Tiered.Offloader.Tests.Stores;

/// <summary>Gives the AWS SDK HTTP clients that record each request as "METHOD ?first-query-parameter", to see which S3 calls a store makes.</summary>
internal sealed class RecordingHttpClientFactory : HttpClientFactory
{
    private readonly List<string> _calls = [];

    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_calls)
                return [.. _calls];
        }
    }

    public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new Recorder(this));

    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    private void Record(HttpRequestMessage request)
    {
        var query = request.RequestUri?.Query.TrimStart('?') ?? "";
        var first = query.Split('&')[0];
        if (!first.StartsWith("partNumber=", StringComparison.Ordinal))
            first = first.Split('=')[0];
        lock (_calls)
            _calls.Add($"{request.Method} ?{first}");
    }

    private sealed class Recorder(RecordingHttpClientFactory owner) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            owner.Record(request);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
