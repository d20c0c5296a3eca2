namespace Tiered.Client.Consumers;

/// <summary>
/// A message in a consumer's receive queue, stamped with the stream generation (<paramref name="Epoch"/>) of the
/// partition consumer it came from. A reconnection or a redelivery request starts a new generation, and messages
/// of an older one are dropped when they reach the head of the queue: the broker sends them again.
/// </summary>
internal readonly record struct QueuedMessage(PartitionConsumer Source, long Epoch, ReceivedMessage Message);
