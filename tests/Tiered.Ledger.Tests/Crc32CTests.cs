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
}
