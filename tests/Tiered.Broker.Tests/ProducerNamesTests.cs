using Tiered.Broker.Service;

namespace Tiered.Broker.Tests;

public sealed class ProducerNamesTests
{
    [Fact]
    public void Two_brokers_and_a_restart_never_hand_out_the_same_producer_name()
    {
        // Each generator stands for one broker process: two brokers, then the first one restarted (in containers
        // all three would have process id 1, which the old names were built from).
        var first = new MessagingService.ProducerNames();
        var second = new MessagingService.ProducerNames();
        var restarted = new MessagingService.ProducerNames();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var broker in new[] { first, second, restarted })
        {
            for (var i = 0; i < 1_000; i++)
                Assert.True(names.Add(broker.Next("standalone")), "a generated producer name was handed out twice");
        }
        Assert.Equal(3, new[] { first.Prefix, second.Prefix, restarted.Prefix }.Distinct().Count());
    }

    [Fact]
    public void Many_broker_starts_draw_distinct_prefixes_of_13_base32_characters()
    {
        var prefixes = Enumerable.Range(0, 10_000).Select(_ => new MessagingService.ProducerNames().Prefix).ToList();
        Assert.Equal(prefixes.Count, prefixes.Distinct(StringComparer.Ordinal).Count());
        Assert.All(prefixes, p => Assert.Matches("^[0-9a-hjkmnp-tv-z]{13}$", p));
    }

    [Fact]
    public void A_name_is_the_cluster_the_prefix_and_a_counter()
    {
        var names = new MessagingService.ProducerNames();
        Assert.Equal($"east-{names.Prefix}-1", names.Next("east"));
        Assert.Equal($"east-{names.Prefix}-2", names.Next("east"));
        Assert.Equal("0000000000000", MessagingService.ProducerNames.Base32(0));
        Assert.Equal("fzzzzzzzzzzzz", MessagingService.ProducerNames.Base32(ulong.MaxValue));
    }
}
