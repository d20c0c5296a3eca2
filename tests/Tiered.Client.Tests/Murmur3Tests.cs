using System.Text;

namespace Tiered.Client.Tests;

public class Murmur3Tests
{
    [Theory]
    [InlineData("", 0u, 0u)]
    [InlineData("", 1u, 0x514E28B7u)]
    [InlineData("", 0xffffffffu, 0x81F16F39u)]
    [InlineData("a", 0x9747b28cu, 0x7FA09EA6u)]
    [InlineData("ab", 0x9747b28cu, 0x74875592u)]
    [InlineData("abc", 0x9747b28cu, 0xC84A62DDu)]
    [InlineData("abcd", 0x9747b28cu, 0xF0478627u)]
    [InlineData("aaaa", 0x9747b28cu, 0x5A97808Au)]
    [InlineData("Hello, world!", 0x9747b28cu, 0x24884CBAu)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x9747b28cu, 0x2FA826CDu)]
    public void Hash_matches_the_reference_vectors(string input, uint seed, uint expected)
    {
        Assert.Equal(expected, Murmur3.Hash32(Encoding.UTF8.GetBytes(input), seed));
        Assert.Equal(expected, Murmur3.Hash32(input, seed));
    }

    [Fact]
    public void Hash_of_four_zero_bytes_matches_the_reference_vector() =>
        Assert.Equal(0x2362F9DEu, Murmur3.Hash32(new byte[4], 0));

    [Fact]
    public void Hash_of_a_long_key_is_the_hash_of_its_utf8_bytes()
    {
        var key = new string('é', 300);
        Assert.Equal(Murmur3.Hash32(Encoding.UTF8.GetBytes(key)), Murmur3.Hash32(key));
    }

    [Fact]
    public void Partition_of_a_key_is_stable_and_within_range()
    {
        for (var i = 0; i < 1000; i++)
        {
            var key = $"key-{i}";
            var partition = Murmur3.Partition(key, 7);
            Assert.InRange(partition, 0, 6);
            Assert.Equal(partition, Murmur3.Partition(key, 7));
            Assert.Equal((int)(Murmur3.Hash32(Encoding.UTF8.GetBytes(key)) & int.MaxValue) % 7, partition);
        }
    }

    [Fact]
    public void Partitions_of_many_keys_cover_every_partition()
    {
        var seen = new HashSet<int>();
        for (var i = 0; i < 200; i++)
            seen.Add(Murmur3.Partition($"user-{i}", 5));
        Assert.Equal(5, seen.Count);
    }
}
