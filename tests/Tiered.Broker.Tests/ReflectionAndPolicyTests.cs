using Grpc.Reflection.V1Alpha;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

public class ReflectionAndPolicyTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    [Fact]
    public async Task Server_reflection_lists_the_messaging_service_and_serves_client_proto()
    {
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(fixture.Broker.Url);
        var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Contains("tiered.v1.Messaging", call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "tiered.v1.Messaging" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var file = Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto[0]);
        Assert.Equal("client.proto", file.Name);
        Assert.Contains(file.MessageType, m => m.Name == "MessageBatch");
        await call.RequestStream.CompleteAsync();
    }

    [Fact]
    public async Task Message_ttl_acknowledges_old_messages_for_every_subscription()
    {
        await fixture.Broker.Metadata.PutAsync("/admin/policies/public/ttl", """{"message_ttl_in_seconds":60}"""u8.ToArray());
        var topic = "persistent://public/ttl/t";
        var client = fixture.Broker.Client();
        await using (var consumer = await RawConsumer.SubscribeAsync(client, new Subscribe { Topic = topic, Subscription = "s" }, permits: 0))
        {
        }
        await using (var producer = await RawProducer.OpenAsync(client, topic))
        {
            var old = RawProducer.Batch(["old"]);
            old.PublishTimeMs = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds();
            await producer.SendAllAsync([old, RawProducer.Batch(["new"])]);
        }
        await fixture.Broker.Server.Topics.RunMaintenanceAsync(CancellationToken.None);

        await using var again = await RawConsumer.SubscribeAsync(client, new Subscribe { Topic = topic, Subscription = "s" });
        Assert.Equal("new", (await again.ReceiveAsync(TimeSpan.FromSeconds(20)))?.Payload);
        Assert.Null(await again.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }
}
