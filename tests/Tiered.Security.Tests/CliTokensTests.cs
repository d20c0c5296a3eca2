using Tiered.Testing;

namespace Tiered.Security.Tests;

/// <summary>`tiered tokens …` through the real CLI (a child process): keys, a token, its check.</summary>
public sealed class CliTokensTests : IDisposable
{
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("tiered-cli-tokens-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    /// <summary>The token: the last line of what `tokens create` printed (stdout; nothing else is printed on success).</summary>
    private static string Token(string output) => output.Trim().Split('\n')[^1].Trim();

    [Fact]
    public async Task A_token_signed_with_a_new_secret_key_validates_to_its_role_and_fails_against_another_key()
    {
        var key = PathOf("secret.key");
        var other = PathOf("other.key");
        Assert.Equal(0, (await TieredProcess.RunAsync(Run, "tokens", "create-secret-key", "--output", key)).ExitCode);
        Assert.Equal(0, (await TieredProcess.RunAsync(Run, "tokens", "create-secret-key", "--output", other)).ExitCode);

        var (created, createOutput) = await TieredProcess.RunAsync(Run, "tokens", "create", "--secret-key", key, "--subject", "app-1", "--expiry", "1h");
        Assert.True(created == 0, createOutput);
        var token = Token(createOutput);
        var (valid, validOutput) = await TieredProcess.RunAsync(Run, "tokens", "validate", "--secret-key", key, token);
        var (invalid, invalidOutput) = await TieredProcess.RunAsync(Run, "tokens", "validate", "--secret-key", other, token);
        var (shown, showOutput) = await TieredProcess.RunAsync(Run, "tokens", "show", token);

        Assert.Equal(32, new FileInfo(key).Length);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        Assert.True(valid == 0, validOutput);
        Assert.StartsWith("app-1", validOutput, StringComparison.Ordinal);
        Assert.True(invalid == 1, invalidOutput);
        Assert.Contains("signed with another key", invalidOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(token, invalidOutput, StringComparison.Ordinal);
        Assert.True(shown == 0, showOutput);
        Assert.Contains("\"sub\": \"app-1\"", showOutput, StringComparison.Ordinal);
        Assert.Contains("\"alg\": \"HS256\"", showOutput, StringComparison.Ordinal);
        Assert.Contains("not verified", showOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_signed_with_a_private_key_validates_with_the_public_key_only()
    {
        var privateKey = PathOf("private.pem");
        var publicKey = PathOf("public.pem");
        var (pair, pairOutput) = await TieredProcess.RunAsync(Run, "tokens", "create-key-pair", "--output-private", privateKey, "--output-public", publicKey);
        Assert.True(pair == 0, pairOutput);

        var (created, createOutput) = await TieredProcess.RunAsync(Run, "tokens", "create", "--private-key", privateKey, "--subject", "app-2");
        var (valid, validOutput) = await TieredProcess.RunAsync(Run, "tokens", "validate", "--public-key", publicKey, Token(createOutput));

        Assert.True(created == 0, createOutput);
        Assert.True(valid == 0, validOutput);
        Assert.StartsWith("app-2", validOutput, StringComparison.Ordinal);
        Assert.Contains("never expires", validOutput, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(privateKey));
    }

    [Fact]
    public async Task Bad_invocations_say_what_to_fix()
    {
        var key = PathOf("secret.key");
        Assert.Equal(0, (await TieredProcess.RunAsync(Run, "tokens", "create-secret-key", "--output", key)).ExitCode);

        var neither = await TieredProcess.RunAsync(Run, "tokens", "create", "--subject", "a");
        var both = await TieredProcess.RunAsync(Run, "tokens", "create", "--secret-key", key, "--private-key", key, "--subject", "a");
        var badExpiry = await TieredProcess.RunAsync(Run, "tokens", "create", "--secret-key", key, "--subject", "a", "--expiry", "1 hour");
        var missing = await TieredProcess.RunAsync(Run, "tokens", "create", "--secret-key", PathOf("nope.key"), "--subject", "a");
        var overwrite = await TieredProcess.RunAsync(Run, "tokens", "create-secret-key", "--output", key);

        Assert.Equal(2, neither.ExitCode);
        Assert.Contains("Give one key", neither.Output, StringComparison.Ordinal);
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("not both", both.Output, StringComparison.Ordinal);
        Assert.Equal(2, badExpiry.ExitCode);
        Assert.Contains("e.g. 30m, 1h, 7d", badExpiry.Output, StringComparison.Ordinal);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("does not exist", missing.Output, StringComparison.Ordinal);
        Assert.Equal(1, overwrite.ExitCode);
        Assert.Contains("exists already", overwrite.Output, StringComparison.Ordinal);
    }
}
