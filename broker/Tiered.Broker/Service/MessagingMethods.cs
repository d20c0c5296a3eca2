using System.Buffers;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Broker.Service;

/// <summary>
/// Binds <see cref="MessagingServiceBase"/> to the tiered.v1.Messaging methods of client.proto, with
/// the broker's wire types (<see cref="Wire"/>) for the two messages that carry stored batches,
/// so that batches pass through the broker as bytes. Clients see the contract of client.proto.
/// </summary>
public static class MessagingMethods
{
    private const string ServiceName = "tiered.v1.Messaging";

    /// <summary>The service's descriptor; gRPC reflection finds it here.</summary>
    public static ServiceDescriptor Descriptor => ClientReflection.Descriptor.Services[0];

    internal static readonly Method<LookupRequest, LookupResponse> Lookup = Unary(nameof(Lookup), LookupRequest.Parser, LookupResponse.Parser);

    /// <summary>Public for geo-replication's replicators, which call it as clients: a stored batch goes out as its bytes.</summary>
    public static readonly Method<Wire.ProduceRequest, ProduceResponse> Produce
        = new(MethodType.DuplexStreaming, ServiceName, nameof(Produce), Marshaller(Wire.ProduceRequest.Parser), Marshaller(ProduceResponse.Parser));

    /// <summary>
    /// Produce as the broker serves it: requests decoded by <see cref="ProduceFrame.Parse"/> (a send's batch as bytes,
    /// in one object), responses as client.proto's. The broker never sends a request: its serializer refuses.
    /// </summary>
    internal static readonly Method<ProduceFrame, ProduceResponse> ServedProduce = new(MethodType.DuplexStreaming, ServiceName, nameof(Produce),
        Marshallers.Create<ProduceFrame>(
            (_, _) => throw new InvalidOperationException("ProduceFrame is decoded only; send a Wire.ProduceRequest through MessagingMethods.Produce."),
            context => ProduceFrame.Parse(context.PayloadAsReadOnlySequence())),
        Marshaller(ProduceResponse.Parser));

    internal static readonly Method<ConsumeRequest, Wire.ConsumeResponse> Consume
        = new(MethodType.DuplexStreaming, ServiceName, nameof(Consume), Marshaller(ConsumeRequest.Parser), Marshaller(Wire.ConsumeResponse.Parser));

    internal static readonly Method<GetLastMessageIdRequest, GetLastMessageIdResponse> GetLastMessageId
        = Unary(nameof(GetLastMessageId), GetLastMessageIdRequest.Parser, GetLastMessageIdResponse.Parser);

    internal static readonly Method<SeekRequest, SeekResponse> Seek = Unary(nameof(Seek), SeekRequest.Parser, SeekResponse.Parser);

    /// <summary>Called by Grpc.AspNetCore (through the attribute on <see cref="MessagingServiceBase"/>) to learn and bind the methods.</summary>
    public static void BindService(ServiceBinderBase binder, MessagingServiceBase? service)
    {
        binder.AddMethod(Lookup, service is null ? null : service.Lookup);
        binder.AddMethod(ServedProduce, service is null ? null : service.Produce);
        binder.AddMethod(Consume, service is null ? null : service.Consume);
        binder.AddMethod(GetLastMessageId, service is null ? null : service.GetLastMessageId);
        binder.AddMethod(Seek, service is null ? null : service.Seek);
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
            context => Parse(parser, context.PayloadAsReadOnlySequence()));

    /// <summary>
    /// Decodes a request; bytes that are not the method's message (malformed protobuf, a string
    /// that is not UTF-8) are the client's mistake: INVALID_ARGUMENT, which the service logs at debug.
    /// </summary>
    private static T Parse<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload) where T : class, IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or System.Text.DecoderFallbackException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"The request is not a valid tiered.v1.{typeof(T).Name}: {e.Message} Send a message encoded from client.proto.", e));
        }
    }
}

/// <summary>
/// The methods of tiered.v1.Messaging with the broker's wire types. Grpc.AspNetCore binds a
/// service's methods only as overrides of the class carrying the binding attribute, by the
/// names in client.proto.
/// </summary>
[BindServiceMethod(typeof(MessagingMethods), nameof(MessagingMethods.BindService))]
public abstract class MessagingServiceBase
{
    public abstract Task<LookupResponse> Lookup(LookupRequest request, ServerCallContext context);

    public abstract Task Produce(IAsyncStreamReader<ProduceFrame> requests, IServerStreamWriter<ProduceResponse> responses, ServerCallContext context);

    public abstract Task Consume(IAsyncStreamReader<ConsumeRequest> requests, IServerStreamWriter<Wire.ConsumeResponse> responses, ServerCallContext context);

    public abstract Task<GetLastMessageIdResponse> GetLastMessageId(GetLastMessageIdRequest request, ServerCallContext context);

    public abstract Task<SeekResponse> Seek(SeekRequest request, ServerCallContext context);
}
