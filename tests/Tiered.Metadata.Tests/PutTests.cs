using Google.Protobuf;
using Tiered.Metadata.State;
using Tiered.Metadata.V1;

namespace Tiered.Metadata.Tests;

public sealed class PutTests
{
    private readonly MetadataState _state = new();

    [Fact]
    public void A_created_key_has_version_0_and_equal_create_and_mod_revisions()
    {
        var kv = _state.Put("/a", "v0");

        Assert.Equal("/a", kv.Key);
        Assert.Equal("v0", kv.Value.ToStringUtf8());
        Assert.Equal(0, kv.Version);
        Assert.Equal(1, kv.CreateRevision);
        Assert.Equal(1, kv.ModRevision);
        Assert.Equal(0, kv.SessionId);
        Assert.Equal(1, _state.Revision);
        Assert.Equal(kv, _state.Get("/a"));
    }

    [Fact]
    public void Each_update_increments_the_version_and_moves_only_the_mod_revision()
    {
        var created = _state.Put("/a", "v0");
        _state.Put("/other");
        var first = _state.Put("/a", "v1");
        var second = _state.Put("/a", "v2");

        Assert.Equal([0L, 1L, 2L], new[] { created.Version, first.Version, second.Version });
        Assert.All(new[] { first, second }, kv => Assert.Equal(created.CreateRevision, kv.CreateRevision));
        Assert.Equal(3, first.ModRevision);
        Assert.Equal(4, second.ModRevision);
        Assert.Equal(4, _state.Revision);
        Assert.Equal("v2", _state.ValueOf("/a"));
        Assert.Equal(second, _state.Get("/a"));
    }

    [Fact]
    public void Put_expecting_absence_creates_a_missing_key()
    {
        var kv = _state.Put("/a", "v0", expectedVersion: -1);

        Assert.Equal(0, kv.Version);
        Assert.Equal("v0", _state.ValueOf("/a"));
    }

    [Fact]
    public void Put_expecting_absence_of_an_existing_key_fails_with_bad_version_and_changes_nothing()
    {
        _state.Put("/a", "v0");
        var current = _state.Put("/a", "v1");

        _state.AssertRejected(Commands.Put("/a", "overwrite", expectedVersion: -1), MetadataErrorCode.BadVersion);

        Assert.Equal(current, _state.Get("/a"));
        Assert.Equal("v1", _state.ValueOf("/a"));
        Assert.Equal(1, _state.Get("/a")!.Version);
        Assert.Equal(2, _state.Revision);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(100)]
    public void Put_with_an_expected_version_other_than_the_current_one_fails_with_bad_version(long expected)
    {
        _state.Put("/a", "v0");
        _state.Put("/a", "v1");

        _state.AssertRejected(Commands.Put("/a", "x", expectedVersion: expected), MetadataErrorCode.BadVersion);

        Assert.Equal("v1", _state.ValueOf("/a"));
    }

    [Fact]
    public void Put_expecting_a_version_of_a_missing_key_fails_with_bad_version()
    {
        _state.AssertRejected(Commands.Put("/a", "x", expectedVersion: 0), MetadataErrorCode.BadVersion);

        Assert.Null(_state.Get("/a"));
    }

    [Fact]
    public void Put_with_the_current_expected_version_replaces_the_value()
    {
        _state.Put("/a", "v0");
        _state.Put("/a", "v1");

        var kv = _state.Put("/a", "v2", expectedVersion: 1);

        Assert.Equal(2, kv.Version);
        Assert.Equal("v2", _state.ValueOf("/a"));
    }

    [Fact]
    public void Put_with_an_expected_version_below_minus_one_is_an_invalid_argument()
    {
        _state.Put("/a");

        _state.AssertRejected(Commands.Put("/a", "x", expectedVersion: -2), MetadataErrorCode.InvalidArgument);
    }

    [Fact]
    public void An_unconditional_put_creates_and_then_overwrites_whatever_the_version()
    {
        _state.Put("/a", "v0");
        _state.Put("/a", "v1");
        _state.Put("/a", "v2");

        var kv = _state.Put("/a", "latest");

        Assert.Equal(3, kv.Version);
        Assert.Equal("latest", _state.ValueOf("/a"));
    }

    [Fact]
    public void A_put_with_a_bad_key_changes_nothing()
    {
        _state.Put("/a", "v0");

        _state.AssertRejected(Commands.Put("/a/", "x"), MetadataErrorCode.BadKey);
        _state.AssertRejected(Commands.Put("/", "x"), MetadataErrorCode.BadKey);
        _state.AssertRejected(Commands.Put("a", "x"), MetadataErrorCode.BadKey);
    }

    [Fact]
    public void A_put_of_1_MiB_is_stored_and_a_put_of_one_byte_more_changes_nothing()
    {
        var largest = ByteString.CopyFrom(new byte[KeyPath.MaxValueBytes]);
        var tooLarge = ByteString.CopyFrom(new byte[KeyPath.MaxValueBytes + 1]);

        _state.ApplyOk<PutResponse>(Commands.Put("/big", largest));
        _state.AssertRejected(Commands.Put("/big", tooLarge), MetadataErrorCode.ValueTooLarge);

        Assert.Equal(KeyPath.MaxValueBytes, _state.Get("/big")!.Value.Length);
    }
}
