using Tiered.Security.Tokens;

namespace Tiered.Security.Tests;

public sealed class KeyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tiered-keys-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_too_short_secret_key_file_is_refused_saying_how_long_it_is_and_how_to_make_one()
    {
        var path = Path.Combine(_dir, "short.key");
        File.WriteAllBytes(path, new byte[16]);

        var e = Assert.Throws<TokenKeyException>(() => SecretKey.Read(path));

        Assert.Contains("16 bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("at least 32", e.Message, StringComparison.Ordinal);
        Assert.Contains("create-secret-key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_key_file_is_named()
    {
        var path = Path.Combine(_dir, "missing.key");

        var secret = Assert.Throws<TokenKeyException>(() => SecretKey.Read(path));
        var pub = Assert.Throws<TokenKeyException>(() => PublicKey.Read(path));

        Assert.Contains(path, secret.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", pub.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Secret_and_private_keys_are_written_readable_by_their_owner_only_and_never_overwritten()
    {
        var secretPath = Path.Combine(_dir, "secret.key");
        var privatePath = Path.Combine(_dir, "private.pem");
        var publicPath = Path.Combine(_dir, "public.pem");
        SecretKey.Create().Write(secretPath);
        using var pair = PrivateKey.Create();
        pair.Write(privatePath);
        pair.PublicKey.Write(publicPath);

        Assert.Equal(32, new FileInfo(secretPath).Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(secretPath));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(privatePath));
        }
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(privatePath), StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", File.ReadAllText(publicPath), StringComparison.Ordinal);
        var e = Assert.Throws<TokenKeyException>(() => SecretKey.Create().Write(secretPath));
        Assert.Contains("exists already", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_read_back_from_their_files_sign_and_verify_as_before()
    {
        var secretPath = Path.Combine(_dir, "secret.key");
        var privatePath = Path.Combine(_dir, "private.pem");
        var publicPath = Path.Combine(_dir, "public.pem");
        var secret = SecretKey.Create();
        secret.Write(secretPath);
        using (var pair = PrivateKey.Create())
        {
            pair.Write(privatePath);
            pair.PublicKey.Write(publicPath);
        }

        using var privateKey = PrivateKey.Read(privatePath);
        using var publicKey = PublicKey.Read(publicPath);

        Assert.Equal("a", (await new TokenVerifier(SecretKey.Read(secretPath)).ValidateAsync(TokenIssuer.Create(secret, "a"))).Role);
        Assert.Equal("b", (await new TokenVerifier(publicKey).ValidateAsync(TokenIssuer.Create(privateKey, "b"))).Role);
    }

    [Fact]
    public void The_wrong_kind_of_PEM_is_refused_for_each_role()
    {
        var privatePath = Path.Combine(_dir, "private.pem");
        var publicPath = Path.Combine(_dir, "public.pem");
        var notPem = Path.Combine(_dir, "not.pem");
        using (var pair = PrivateKey.Create())
        {
            pair.Write(privatePath);
            pair.PublicKey.Write(publicPath);
        }
        File.WriteAllText(notPem, "hello");

        Assert.Contains("holds a private key", Assert.Throws<TokenKeyException>(() => PublicKey.Read(privatePath)).Message, StringComparison.Ordinal);
        Assert.Contains("holds a public key", Assert.Throws<TokenKeyException>(() => PrivateKey.Read(publicPath)).Message, StringComparison.Ordinal);
        Assert.Contains("not PEM", Assert.Throws<TokenKeyException>(() => PublicKey.Read(notPem)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_objects_never_print_their_key()
    {
        var secret = SecretKey.Create();

        Assert.DoesNotContain(secret.ToBase64(), secret.ToString(), StringComparison.Ordinal);
        Assert.Equal("HS256 secret key (32 bytes)", secret.ToString());
    }

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("30m", 30 * 60)]
    [InlineData("1h", 3600)]
    [InlineData("7d", 7 * 86400)]
    [InlineData("2w", 14 * 86400)]
    [InlineData("1y", 365 * 86400)]
    public void Lifetimes_parse(string text, int seconds)
    {
        Assert.True(TokenLifetime.TryParse(text, out var lifetime, out var error), error);
        Assert.Equal(TimeSpan.FromSeconds(seconds), lifetime);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("h")]
    [InlineData("1x")]
    [InlineData("-1h")]
    [InlineData("0h")]
    [InlineData("1.5h")]
    [InlineData("999999999y")]
    public void Bad_lifetimes_are_refused_with_what_to_write(string text)
    {
        Assert.False(TokenLifetime.TryParse(text, out _, out var error));
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("Bearer abc", "abc")]
    [InlineData("bearer  abc ", "abc")]
    public void Bearer_headers_give_their_token(string header, string token)
    {
        Assert.True(BearerToken.TryParse(header, out var parsed));
        Assert.Equal(token, parsed);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Basic abc")]
    [InlineData("Bearer ")]
    public void Other_headers_give_none(string? header) => Assert.False(BearerToken.TryParse(header, out _));
}

public sealed class VerifierFromFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tiered-verifier-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_verifier_comes_from_one_key_file_none_from_no_file_and_both_files_are_refused()
    {
        var secretPath = Path.Combine(_dir, "secret.key");
        var publicPath = Path.Combine(_dir, "public.pem");
        var secret = SecretKey.Create();
        secret.Write(secretPath);
        using var pair = PrivateKey.Create();
        pair.PublicKey.Write(publicPath);

        Assert.Null(TokenVerifier.FromKeyFiles(null, null));
        Assert.Equal("HS256", TokenVerifier.FromKeyFiles(secretPath, null)!.Algorithm);
        var rsa = TokenVerifier.FromKeyFiles(null, publicPath, new TokenVerifierOptions { RoleClaim = "role" })!;
        Assert.Equal("r", (await rsa.ValidateAsync(TokenIssuer.Create(pair, "r", roleClaim: "role"))).Role);
        Assert.Contains("not both", Assert.Throws<TokenKeyException>(() => TokenVerifier.FromKeyFiles(secretPath, publicPath)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_validations_of_many_tokens_each_get_their_own_role()
    {
        using var pair = PrivateKey.Create();
        var verifier = new TokenVerifier(pair.PublicKey);
        var tokens = Enumerable.Range(0, 64).Select(i => TokenIssuer.Create(pair, $"role-{i}", TimeSpan.FromHours(1))).ToArray();

        var results = await Task.WhenAll(Enumerable.Range(0, 256).Select(i => Task.Run(async () => (i % 64, await verifier.ValidateAsync(tokens[i % 64])))));

        Assert.All(results, r => Assert.Equal($"role-{r.Item1}", r.Item2.Role));
        Assert.Equal(64, verifier.CachedCount);
    }
}
