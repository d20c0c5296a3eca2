namespace Tiered.Metadata.Tests;

public sealed class KeyPathTests
{
    [Theory]
    [InlineData("/a")]
    [InlineData("/a/b/c")]
    [InlineData("/ledgers/00000000042")]
    [InlineData("/a-x/b_y/c.d")]
    [InlineData("/.hidden/..x/...")]
    [InlineData("/tenants/public/ns:default/topic 1")]
    [InlineData("/名前/ü/\U0001F600")]
    public void Well_formed_keys_are_accepted_as_keys_and_as_parents(string key)
    {
        KeyPath.Validate(key);
        KeyPath.ValidateParent(key);
        KeyPath.ValidatePrefix(key);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("a/b")]
    [InlineData("/a/")]
    [InlineData("/a/b/")]
    [InlineData("//")]
    [InlineData("//a")]
    [InlineData("/a//b")]
    [InlineData("/.")]
    [InlineData("/a/.")]
    [InlineData("/a/./b")]
    [InlineData("/..")]
    [InlineData("/a/..")]
    [InlineData("/a/../b")]
    [InlineData("/a\nb")]
    [InlineData("/a\tb")]
    [InlineData("/\0")]
    [InlineData("/a/\u001f")]
    [InlineData("/a\u007f")]
    [InlineData("/a\u0085b")]
    [InlineData("/a\uffff")]
    public void Malformed_keys_are_rejected_as_bad_key(string key)
    {
        Assert.Equal(MetadataErrorCode.BadKey, Assert.Throws<MetadataException>(() => KeyPath.Validate(key)).Code);
        Assert.Equal(MetadataErrorCode.BadKey, Assert.Throws<MetadataException>(() => KeyPath.ValidateParent(key)).Code);
    }

    [Fact]
    public void A_null_key_is_rejected_as_bad_key()
    {
        Assert.Equal(MetadataErrorCode.BadKey, Assert.Throws<MetadataException>(() => KeyPath.Validate(null)).Code);
        Assert.Equal(MetadataErrorCode.BadKey, Assert.Throws<MetadataException>(() => KeyPath.ValidateParent(null)).Code);
        Assert.Equal(MetadataErrorCode.BadKey, Assert.Throws<MetadataException>(() => KeyPath.ValidatePrefix(null)).Code);
    }

    [Fact]
    public void A_key_of_4096_characters_is_accepted_and_one_of_4097_is_rejected()
    {
        var longest = "/" + new string('k', KeyPath.MaxKeyLength - 1);
        var tooLong = longest + "k";

        KeyPath.Validate(longest);
        KeyPath.ValidatePrefix(longest);
        Assert.Equal(MetadataErrorCode.BadKey, Assert.Throws<MetadataException>(() => KeyPath.Validate(tooLong)).Code);
        Assert.Equal(MetadataErrorCode.BadKey, Assert.Throws<MetadataException>(() => KeyPath.ValidateParent(tooLong)).Code);
        Assert.Equal(MetadataErrorCode.BadKey, Assert.Throws<MetadataException>(() => KeyPath.ValidatePrefix(tooLong)).Code);
    }

    [Fact]
    public void The_root_cannot_hold_a_value_but_its_children_can_be_listed()
    {
        Assert.Equal(MetadataErrorCode.BadKey, Assert.Throws<MetadataException>(() => KeyPath.Validate("/")).Code);
        KeyPath.ValidateParent("/");
        KeyPath.ValidatePrefix("/");
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/a/")]
    [InlineData("/a-")]
    [InlineData("/a//")]
    public void A_prefix_only_needs_a_leading_slash(string prefix) => KeyPath.ValidatePrefix(prefix);

    [Theory]
    [InlineData("")]
    [InlineData("a/")]
    [InlineData("/a\n")]
    [InlineData("/a\uffff")]
    public void A_prefix_without_a_leading_slash_or_with_a_control_character_is_rejected(string prefix) =>
        Assert.Equal(MetadataErrorCode.BadKey, Assert.Throws<MetadataException>(() => KeyPath.ValidatePrefix(prefix)).Code);

    [Fact]
    public void A_value_of_exactly_1_MiB_is_accepted_and_one_byte_more_is_rejected()
    {
        KeyPath.ValidateValue([]);
        KeyPath.ValidateValue(new byte[1024 * 1024]);

        var error = Assert.Throws<MetadataException>(() => KeyPath.ValidateValue(new byte[(1024 * 1024) + 1]));

        Assert.Equal(MetadataErrorCode.ValueTooLarge, error.Code);
    }
}
