using Tiered.Metadata.State;

namespace Tiered.Metadata.Tests;

public sealed class ListTests
{
    private readonly MetadataState _state = new();

    public ListTests()
    {
        foreach (var key in new[] { "/b", "/a/c", "/a-x", "/a/b/c", "/a/b", "/a" })
            _state.Put(key, "value of " + key);
    }

    [Fact]
    public void Children_of_a_path_are_the_sorted_names_of_its_immediate_children_only()
    {
        Assert.Equal(["b", "c"], _state.Children("/a"));
        Assert.Equal(["c"], _state.Children("/a/b"));
        Assert.Empty(_state.Children("/a/c"));
        Assert.Empty(_state.Children("/a-x"));
        Assert.Empty(_state.Children("/missing"));
    }

    [Fact]
    public void Children_of_the_root_include_a_name_that_extends_an_earlier_sibling_key() =>
        Assert.Equal(["a", "a-x", "b"], _state.Children("/"));

    [Theory]
    [InlineData('-')]
    [InlineData('.')]
    [InlineData(' ')]
    [InlineData('!')]
    [InlineData('+')]
    public void Children_include_names_that_extend_a_sibling_key_with_a_character_sorting_before_the_slash(char separator)
    {
        var state = new MetadataState();
        foreach (var key in new[] { "/t/x", "/t/x/1", "/t/x/2/3", $"/t/x{separator}y", $"/t/x{separator}y/z", "/t/x0", "/t/y" })
            state.Put(key);

        Assert.Equal(["x", $"x{separator}y", "x0", "y"], state.Children("/t"));
    }

    [Fact]
    public void Children_list_intermediate_segments_that_hold_no_value()
    {
        var state = new MetadataState();
        state.Put("/a/b/c");

        Assert.Equal(["a"], state.Children("/"));
        Assert.Equal(["b"], state.Children("/a"));
        Assert.Equal(["c"], state.Children("/a/b"));
    }

    [Fact]
    public void Range_returns_every_key_under_a_prefix_in_key_order()
    {
        Assert.Equal(["/a/b", "/a/b/c", "/a/c"], _state.Range("/a/").Select(kv => kv.Key));
        Assert.Equal(["/a", "/a-x", "/a/b", "/a/b/c", "/a/c"], _state.Range("/a").Select(kv => kv.Key));
        Assert.Equal(["/a", "/a-x", "/a/b", "/a/b/c", "/a/c", "/b"], _state.Range("/").Select(kv => kv.Key));
        Assert.Empty(_state.Range("/z"));
        Assert.All(_state.Range("/"), kv => Assert.Equal(_state.Get(kv.Key), kv));
    }

    [Fact]
    public void Deleted_keys_disappear_from_children_and_ranges()
    {
        _state.Delete("/a/b/c");
        _state.Delete("/a/b");

        Assert.Equal(["c"], _state.Children("/a"));
        Assert.Equal(["/a/c"], _state.Range("/a/").Select(kv => kv.Key));
    }
}
