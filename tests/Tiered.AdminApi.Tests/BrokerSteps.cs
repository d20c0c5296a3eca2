using Tiered.Testing;
using Tiered.V1;

namespace Tiered.AdminApi.Tests;

/// <summary>Steps the tests against a real broker share: a namespace of their own, messages published over gRPC.</summary>
internal static class BrokerSteps
{
    public static async Task<string> NewNamespaceAsync(HttpClient http)
    {
        var ns = $"public/ns-{Guid.NewGuid():N}";
        await Expect.NoContentAsync(await http.PutAsync($"/admin/v2/namespaces/{ns}", null));
        return ns;
    }

    /// <summary>One message a batch ("m0", "m1", …), every one acknowledged; publish time given or now.</summary>
    public static async Task<List<SendReceipt>> ProduceAsync(LocalBroker broker, string topic, int messages, long publishTimeMs = 0)
    {
        await using var producer = await RawProducer.OpenAsync(broker.Client(), topic);
        var answers = await producer.SendAllAsync(Enumerable.Range(0, messages).Select(i =>
        {
            var batch = RawProducer.Batch([$"m{i}"]);
            if (publishTimeMs > 0)
                batch.PublishTimeMs = publishTimeMs;
            return batch;
        }));
        Assert.All(answers, a => Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, a.ResponseCase));
        return [.. answers.Select(a => a.Receipt)];
    }
}
