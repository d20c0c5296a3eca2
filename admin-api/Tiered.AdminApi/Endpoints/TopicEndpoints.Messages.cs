using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker;
using Tiered.Broker.Admin;

namespace Tiered.AdminApi.Endpoints;

/// <summary>
/// Reading messages (peek, examine, get by id, last message id) and the stats of partitioned
/// topics. A message is answered as Pulsar answers it: its payload as the body
/// (application/octet-stream) and its metadata in X-Pulsar-* headers.
/// </summary>
internal static partial class TopicEndpoints
{
    private const string OctetStream = "application/octet-stream";

    private static void MapMessages(RouteGroupBuilder persistent, AdminContext context)
    {
        persistent.MapGet(Topic + "/partitioned-stats", async Task<Ok<PartitionedTopicStats>> (string tenant, string @namespace, string topic, string? perPartition, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var each = perPartition is null || AdminNames.Flag(perPartition, "perPartition");
            return TypedResults.Ok(await context.Topics.GetPartitionedStatsAsync(name, each, ct).ConfigureAwait(false));
        }).WithSummary("A partitioned topic's stats summed over its partitions (subscriptions by name), each partition's under partitions unless ?perPartition=false; 404 for a topic without partitions.");

        persistent.MapGet(Topic + "/partitioned-internalStats", async Task<Ok<PartitionedTopicInternalStats>> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            return TypedResults.Ok(await context.Topics.GetPartitionedInternalStatsAsync(name, ct).ConfigureAwait(false));
        }).WithSummary("Each partition's internal stats; 404 for a topic without partitions.");

        persistent.MapGet(Subscription + "/position/{messagePosition}", async Task<IResult> (string tenant, string @namespace, string topic, string subscription, string messagePosition, HttpResponse response, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var sub = AdminNames.Subscription(subscription);
            var position = AdminNames.Number(messagePosition, "message position", 1);
            return Message(response, await context.Topics.PeekMessageAsync(name, sub, position, ct).ConfigureAwait(false));
        }).Produces<byte[]>(StatusCodes.Status200OK, OctetStream)
          .WithSummary("Peeks at the Nth message (from 1) the subscription has not acknowledged, counting the messages of batches: the payload as the body, metadata in X-Pulsar-* headers; 404 past the backlog.");

        persistent.MapGet(Topic + "/examinemessage", async Task<IResult> (string tenant, string @namespace, string topic, string? initialPosition, string? messagePosition, HttpResponse response, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var fromLatest = initialPosition?.ToLowerInvariant() switch
            {
                null or "" or "latest" => true,
                "earliest" => false,
                _ => throw new BrokerException(BrokerErrorCode.BadRequest, "Invalid ?initialPosition: expected earliest or latest."),
            };
            var position = AdminNames.Number(string.IsNullOrEmpty(messagePosition) ? "1" : messagePosition, "message position", 1);
            return Message(response, await context.Topics.ExamineMessageAsync(name, fromLatest, position, ct).ConfigureAwait(false));
        }).Produces<byte[]>(StatusCodes.Status200OK, OctetStream)
          .WithSummary("The Nth message (?messagePosition, from 1, default 1) from the first (?initialPosition=earliest) or back from the last (latest, the default), counting the messages of batches; 404 when there are fewer.");

        persistent.MapGet(Topic + "/ledger/{ledgerId}/entry/{entryId}", async Task<IResult> (string tenant, string @namespace, string topic, string ledgerId, string entryId, string? batchIndex, HttpResponse response, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var ledger = AdminNames.Number(ledgerId, "ledger id", 0);
            var entry = AdminNames.Number(entryId, "entry id", 0);
            var index = AdminNames.Number(string.IsNullOrEmpty(batchIndex) ? "0" : batchIndex, "batch index", 0);
            if (index > int.MaxValue)
                throw new BrokerException(BrokerErrorCode.BadRequest, "Invalid ?batchIndex: too large.");
            return Message(response, await context.Topics.GetMessageByIdAsync(name, ledger, entry, (int)index, ct).ConfigureAwait(false));
        }).Produces<byte[]>(StatusCodes.Status200OK, OctetStream)
          .WithSummary("Message ?batchIndex (default 0) of the entry: the payload as the body, metadata in X-Pulsar-* headers (X-Pulsar-num-batch-message: the batch's messages); 404 when the entry or index does not exist.");

        persistent.MapGet(Topic + "/lastMessageId", async Task<Ok<MessageIdData>> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            return TypedResults.Ok(await context.Topics.GetLastMessageIdAsync(name, ct).ConfigureAwait(false));
        }).WithSummary("{ledgerId, entryId, partitionIndex, batchIndex} of the last message stored (entryId -1 when empty; batchIndex the last message of a batch, else -1).");
    }

    /// <summary>The message's payload as the body and its metadata in Pulsar's X-Pulsar-* headers.</summary>
    private static IResult Message(HttpResponse response, PeekedMessage message)
    {
        var headers = response.Headers;
        var id = message.Id;
        headers["X-Pulsar-Message-ID"] = id.BatchIndex >= 0
            ? string.Create(CultureInfo.InvariantCulture, $"{id.LedgerId}:{id.EntryId}:{id.PartitionIndex}:{id.BatchIndex}")
            : string.Create(CultureInfo.InvariantCulture, $"{id.LedgerId}:{id.EntryId}:{id.PartitionIndex}");
        headers["X-Pulsar-publish-time"] = Time(message.PublishTimeMs);
        if (message.EventTimeMs > 0)
            headers["X-Pulsar-event-time"] = Time(message.EventTimeMs);
        if (message.DeliverAtMs > 0)
            headers["X-Pulsar-deliver-at-time"] = Time(message.DeliverAtMs);
        headers["X-Pulsar-producer-name"] = HeaderText(message.ProducerName);
        headers["X-Pulsar-sequence-id"] = message.SequenceId.ToString(CultureInfo.InvariantCulture);
        headers["X-Pulsar-num-batch-message"] = message.BatchMessages.ToString(CultureInfo.InvariantCulture);
        headers["X-Pulsar-batch-size"] = message.EntryBytes.ToString(CultureInfo.InvariantCulture);
        if (message.Key.Length > 0)
        {
            if (IsHeaderText(message.Key))
            {
                headers["X-Pulsar-partition-key"] = message.Key;
            }
            else
            {
                headers["X-Pulsar-partition-key"] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(message.Key));
                headers["X-Pulsar-partition-key-b64-encoded"] = "true";
            }
        }
        if (message.ReplicatedFrom.Length > 0)
            headers["X-Pulsar-replicated-from"] = HeaderText(message.ReplicatedFrom);
        if (!message.SchemaVersion.IsEmpty)
            headers["X-Pulsar-Base64-schema-version-b64encoded"] = Convert.ToBase64String(message.SchemaVersion.Span);
        // Both of Pulsar's forms: one JSON header (escaped to ASCII), and a header per property where the name and value allow.
        headers["X-Pulsar-Property"] = JsonSerializer.Serialize(message.Properties);
        foreach (var (key, value) in message.Properties)
        {
            if (key.Length > 0 && key.All(IsTokenChar) && IsHeaderText(value))
                headers["X-Pulsar-PROPERTY-" + key] = value;
        }
        return Results.Bytes(message.Payload, OctetStream);
    }

    private static string Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Printable ASCII as is; anything else percent-encoded (header values are ASCII).</summary>
    private static string HeaderText(string text) => IsHeaderText(text) ? text : Uri.EscapeDataString(text);

    private static bool IsHeaderText(string text) => text.All(c => c is >= ' ' and <= '~');

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c);
}
