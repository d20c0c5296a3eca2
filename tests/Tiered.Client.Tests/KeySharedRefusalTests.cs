namespace Tiered.Client.Tests;

/// <summary>Key_Shared is not built yet: the client refuses it before it sends anything.</summary>
public class KeySharedRefusalTests
{
    [Fact]
    public void A_key_shared_consumer_is_refused_with_what_to_use_instead()
    {
        var e = Assert.Throws<ArgumentException>(() => new ConsumerOptions("t", "s") { Type = SubscriptionType.KeyShared }.Validate());
        Assert.Contains("Key_Shared subscriptions are not built yet; use Shared, Failover or Exclusive", e.Message);
    }
}
