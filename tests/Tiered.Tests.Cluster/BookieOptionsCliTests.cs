using Tiered.Testing;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>The journal preallocation flag of `tiered bookie` and `tiered standalone`, checked before anything starts.</summary>
public sealed class BookieOptionsCliTests
{
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("bookie", "257")]
    [InlineData("bookie", "-1")]
    [InlineData("standalone", "300")]
    public async Task A_journal_preallocation_out_of_range_is_refused_with_a_message_that_names_the_flag_and_its_range(string command, string mebibytes)
    {
        var dataDir = Directory.CreateTempSubdirectory("tiered-cli-").FullName;
        try
        {
            var (code, output) = await TieredProcess.RunAsync(Run, command, "--data-dir", dataDir, "--journal-preallocation-mb", mebibytes);
            Assert.Equal(2, code);
            Assert.Contains("--journal-preallocation-mb must be between 0", output);
            Assert.Empty(Directory.GetFileSystemEntries(dataDir)); // refused before anything was created
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
