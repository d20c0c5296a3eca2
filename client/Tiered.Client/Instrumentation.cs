using System.Diagnostics.Metrics;

namespace Tiered.Client;

/// <summary>
/// The client's metrics, on the <c>Tiered.Client</c> meter (export them with OpenTelemetry or read them with
/// <c>dotnet-counters monitor --counters Tiered.Client</c>). Recorded per batch or per stream event, not per message
/// where a count will do, so the data path stays cheap.
/// </summary>
internal static class Instrumentation
{
    public const string MeterName = "Tiered.Client";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> MessagesSent = Meter.CreateCounter<long>("tiered.client.messages.sent", "{message}", "Messages the broker acknowledged.");

    public static readonly Counter<long> BatchesSent = Meter.CreateCounter<long>("tiered.client.batches.sent", "{batch}", "Batches (entries) the broker acknowledged.");

    public static readonly Counter<long> SendErrors = Meter.CreateCounter<long>("tiered.client.send.errors", "{message}", "Messages that failed for good.");

    public static readonly Histogram<double> BatchLatency = Meter.CreateHistogram<double>("tiered.client.batch.latency", "ms", "From sealing a batch to its receipt.");

    public static readonly Counter<long> MessagesReceived = Meter.CreateCounter<long>("tiered.client.messages.received", "{message}", "Messages handed to the application.");

    public static readonly Counter<long> Reconnections = Meter.CreateCounter<long>("tiered.client.reconnections", "{reconnection}", "Producer and consumer streams opened again after a failure.");
}
