using System.Text;

namespace Tiered.Ledger.Tests;

public sealed class Crc32CTests
{
    [Fact]
    public void Crc32c_of_the_standard_check_string_is_e3069283()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void Hardware_and_table_crc32c_agree_on_every_length_and_alignment()
    {
        var data = new byte[1000];
        new Random(42).NextBytes(data);
        for (var start = 0; start < 9; start++)
        {
            for (var length = 0; length < 200; length++)
            {
                var span = data.AsSpan(start, length);
                Assert.Equal(~Crc32C.UpdateTable(~0u, span), Crc32C.Compute(span));
            }
        }
    }

    [Fact]
    public void Crc32c_can_be_computed_in_pieces()
    {
        var data = Encoding.ASCII.GetBytes("123456789");
        Assert.Equal(Crc32C.Compute(data), Crc32C.Append(Crc32C.Compute(data.AsSpan(0, 4)), data.AsSpan(4)));
    }

    [Fact]
    public void Crc32c_of_two_parts_combines_from_their_crcs_and_the_second_length()
    {
        var data = new byte[3000];
        new Random(7).NextBytes(data);
        foreach (var split in new[] { 0, 1, 24, 100 })
        {
            foreach (var length in new[] { 0, 1, 7, 8, 100, 1000, 2999 - split })
            {
                var whole = data.AsSpan(0, split + length);
                var combined = Crc32C.Combine(Crc32C.Compute(whole[..split]), Crc32C.Compute(whole[split..]), Crc32C.ShiftOf(length));
                Assert.Equal(Crc32C.Compute(whole), combined);
            }
        }
    }

    [Fact]
    public void The_digest_of_a_checksummed_payload_equals_the_digest_over_its_bytes()
    {
        var payload = new byte[3000];
        new Random(3).NextBytes(payload);
        for (var length = 1; length < payload.Length; length += 37)
        {
            var bytes = payload.AsMemory(0, length);
            Assert.Equal(LedgerDigest.Compute(12, 345, 344, bytes.Span), LedgerDigest.Compute(12, 345, 344, EntryPayload.Of(bytes)));
        }
    }
}
