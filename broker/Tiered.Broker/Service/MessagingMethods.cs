using System.Buffers;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Broker.Service;

/// <summary>
/// Binds <see cref="MessagingService"/> to the tiered.v1.Messaging methods of client.proto, with
/// the broker's wire types (<see cref="Wire"/>) for the two messages that carry stored batches,
/// so that batches pass through the broker as bytes. Clients see the contract of client.proto.
/// </summary>
public static class MessagingMethods
{
    private const string ServiceName = "tiered.v1.Messaging";

    /// <summary>The service's descriptor; gRPC reflection finds it here.</summary>
    public static ServiceDescriptor Descriptor => ClientReflection.Descriptor.Services[0];

    internal static readonly Method<LookupRequest, LookupResponse> Lookup = Unary(nameof(Lookup), LookupRequest.Parser, LookupResponse.Parser);

    internal static readonly Method<Wire.ProduceRequest, ProduceResponse> Produce
        = new(MethodType.DuplexStreaming, ServiceName, nameof(Produce), Marshaller(Wire.ProduceRequest.Parser), Marshaller(ProduceResponse.Parser));

    internal static readonly Method<ConsumeRequest, Wire.ConsumeResponse> Consume
        = new(MethodType.DuplexStreaming, ServiceName, nameof(Consume), Marshaller(ConsumeRequest.Parser), Marshaller(Wire.ConsumeResponse.Parser));

    internal static readonly Method<GetLastMessageIdRequest, GetLastMessageIdResponse> GetLastMessageId
        = Unary(nameof(GetLastMessageId), GetLastMessageIdRequest.Parser, GetLastMessageIdResponse.Parser);

    internal static readonly Method<SeekRequest, SeekResponse> Seek = Unary(nameof(Seek), SeekRequest.Parser, SeekResponse.Parser);

    /// <summary>Called by Grpc.AspNetCore (through the attribute on <see cref="MessagingService"/>) to learn and bind the methods.</summary>
    public static void BindService(ServiceBinderBase binder, MessagingService? service)
    {
        binder.AddMethod(Lookup, service is null ? null : service.LookupAsync);
        binder.AddMethod(Produce, service is null ? null : service.ProduceAsync);
        binder.AddMethod(Consume, service is null ? null : service.ConsumeAsync);
        binder.AddMethod(GetLastMessageId, service is null ? null : service.GetLastMessageIdAsync);
        binder.AddMethod(Seek, service is null ? null : service.SeekAsync);
    }

    private static Method<TRequest, TResponse> Unary<TRequest, TResponse>(string name, MessageParser<TRequest> request, MessageParser<TResponse> response)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
        => new(MethodType.Unary, ServiceName, name, Marshaller(request), Marshaller(response));

    private static Marshaller<T> Marshaller<T>(MessageParser<T> parser) where T : class, IMessage<T>
        => Marshallers.Create<T>(
            (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));
}
