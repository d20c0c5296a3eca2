using Tiered.Metadata.State;
using static Tiered.Metadata.Tests.Commands;

namespace Tiered.Metadata.Tests;

public sealed class NextIdTests
{
    private readonly MetadataState _state = new();

    [Fact]
    public void Consecutive_allocations_return_adjacent_ranges_starting_at_1()
    {
        Assert.Equal(1, _state.NextId("ledger", 1));
        Assert.Equal(2, _state.NextId("ledger", 10));
        Assert.Equal(12, _state.NextId("ledger", MetadataState.MaxIdBatch));
        Assert.Equal(12 + MetadataState.MaxIdBatch, _state.NextId("ledger", 1));
    }

    [Fact]
    public void Ids_never_repeat_across_many_allocations()
    {
        var random = new Random(7);
        var seen = new HashSet<long>();
        var expectedFirst = 1L;

        for (var i = 0; i < 500; i++)
        {
            var count = random.Next(1, 50);
            var first = _state.NextId("ledger", count);

            Assert.Equal(expectedFirst, first);
            for (var id = first; id < first + count; id++)
                Assert.True(seen.Add(id), $"Id {id} was handed out twice.");
            expectedFirst = first + count;
        }
    }

    [Fact]
    public void Each_counter_name_counts_independently()
    {
        Assert.Equal(1, _state.NextId("ledger", 5));
        Assert.Equal(1, _state.NextId("topic", 2));
        Assert.Equal(6, _state.NextId("ledger", 1));
        Assert.Equal(3, _state.NextId("topic", 1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(MetadataState.MaxIdBatch + 1)]
    public void An_id_count_outside_1_to_100000_is_an_invalid_argument_and_does_not_advance_the_counter(int count)
    {
        _state.NextId("ledger", 3);

        _state.AssertRejected(NextId("ledger", count), MetadataErrorCode.InvalidArgument);

        Assert.Equal(4, _state.NextId("ledger", 1));
    }

    [Fact]
    public void A_counter_name_must_have_1_to_256_characters()
    {
        _state.AssertRejected(NextId("", 1), MetadataErrorCode.InvalidArgument);
        _state.AssertRejected(NextId(new string('n', 257), 1), MetadataErrorCode.InvalidArgument);

        Assert.Equal(1, _state.NextId(new string('n', 256), 1));
    }
}
