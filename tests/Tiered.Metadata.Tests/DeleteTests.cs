using Google.Protobuf;
using Tiered.Metadata.State;

namespace Tiered.Metadata.Tests;

public sealed class DeleteTests
{
    private readonly MetadataState _state = new();

    [Fact]
    public void Deleting_a_missing_key_without_an_expected_version_reports_not_deleted_and_changes_nothing()
    {
        _state.Put("/a");
        var before = _state.ToSnapshot().ToByteArray();

        var response = _state.Delete("/missing");

        Assert.False(response.Deleted);
        Assert.Equal(1, response.Revision);
        Assert.Equal(1, _state.Revision);
        Assert.Equal(before, _state.ToSnapshot().ToByteArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void Deleting_a_missing_key_with_an_expected_version_fails_with_bad_version(long expected)
    {
        _state.Put("/a");

        _state.AssertRejected(Commands.Delete("/missing", expected), MetadataErrorCode.BadVersion);
    }

    [Fact]
    public void Deleting_with_a_stale_expected_version_fails_and_keeps_the_key()
    {
        _state.Put("/a", "v0");
        _state.Put("/a", "v1");

        _state.AssertRejected(Commands.Delete("/a", 0), MetadataErrorCode.BadVersion);

        Assert.Equal("v1", _state.ValueOf("/a"));
    }

    [Fact]
    public void Deleting_with_a_negative_expected_version_is_an_invalid_argument()
    {
        _state.Put("/a");

        _state.AssertRejected(Commands.Delete("/a", -1), MetadataErrorCode.InvalidArgument);
    }

    [Fact]
    public void Deleting_with_the_current_version_removes_the_key_at_the_next_revision()
    {
        _state.Put("/a", "v0");
        _state.Put("/a", "v1");

        var response = _state.Delete("/a", expectedVersion: 1);

        Assert.True(response.Deleted);
        Assert.Equal(3, response.Revision);
        Assert.Equal(3, _state.Revision);
        Assert.Null(_state.Get("/a"));
        Assert.Empty(_state.Range("/"));
        Assert.Equal(0, _state.KeyCount);
    }

    [Fact]
    public void A_key_put_again_after_deletion_starts_over_at_version_0_with_a_new_create_revision()
    {
        _state.Put("/a", "v0");
        _state.Put("/a", "v1");
        _state.Delete("/a");

        var kv = _state.Put("/a", "again", expectedVersion: -1);

        Assert.Equal(0, kv.Version);
        Assert.Equal(4, kv.CreateRevision);
        Assert.Equal(4, kv.ModRevision);
    }

    [Fact]
    public void Deleting_a_parent_key_keeps_its_children()
    {
        _state.Put("/a");
        _state.Put("/a/b");

        Assert.True(_state.Delete("/a").Deleted);

        Assert.NotNull(_state.Get("/a/b"));
        Assert.Equal(["a"], _state.Children("/"));
    }

    [Fact]
    public void Deleting_a_bad_key_changes_nothing() =>
        _state.AssertRejected(Commands.Delete("/a/"), MetadataErrorCode.BadKey);
}
