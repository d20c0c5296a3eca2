using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tiered.Security.Tokens;

namespace Tiered.Security.Tests;

public sealed class TokenVerifierTests
{
    [Fact]
    public async Task An_HS256_token_round_trips_to_its_role()
    {
        var key = SecretKey.Create();
        var token = TokenIssuer.Create(key, "app-1", TimeSpan.FromHours(1));

        var result = await new TokenVerifier(key).ValidateAsync(token);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal("app-1", result.Role);
        Assert.NotNull(result.ExpiresAt);
    }

    [Fact]
    public async Task An_RS256_token_signed_with_the_private_key_is_verified_with_the_public_key_alone()
    {
        using var privateKey = PrivateKey.Create();
        var token = TokenIssuer.Create(privateKey, "app-2");

        var result = await new TokenVerifier(privateKey.PublicKey).ValidateAsync(token);

        Assert.Equal("app-2", result.Role);
        Assert.Null(result.ExpiresAt);
    }

    [Fact]
    public async Task A_token_without_exp_is_accepted_and_one_past_its_exp_is_refused_naming_the_time()
    {
        var key = SecretKey.Create();
        var expiredAt = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

        Assert.True((await new TokenVerifier(key).ValidateAsync(TokenIssuer.Create(key, "forever"))).IsValid);
        var result = await new TokenVerifier(key).ValidateAsync(TokenIssuer.Create(key, "late", expiredAt));

        Assert.Equal(TokenFailure.Expired, result.Failure);
        Assert.Contains("2026-01-02T03:04:05Z", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_refused_as_a_signature_mismatch()
    {
        var token = TokenIssuer.Create(SecretKey.Create(), "app");
        using var other = PrivateKey.Create();
        using var pair = PrivateKey.Create();

        var secret = await new TokenVerifier(SecretKey.Create()).ValidateAsync(token);
        var rsa = await new TokenVerifier(pair.PublicKey).ValidateAsync(TokenIssuer.Create(other, "app"));

        Assert.Equal(TokenFailure.BadSignature, secret.Failure);
        Assert.Equal(TokenFailure.BadSignature, rsa.Failure);
        Assert.Contains("signed with another key", secret.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_whose_payload_was_changed_is_refused_and_the_reason_does_not_quote_it()
    {
        var key = SecretKey.Create();
        var token = TokenIssuer.Create(key, "reader");
        var parts = token.Split('.');
        var forged = $"{parts[0]}.{Base64UrlEncoder.Encode("{\"sub\":\"superuser\"}")}.{parts[2]}";

        var result = await new TokenVerifier(key).ValidateAsync(forged);

        Assert.Equal(TokenFailure.BadSignature, result.Failure);
        Assert.DoesNotContain(parts[1], result.Reason!, StringComparison.Ordinal);
        Assert.DoesNotContain("superuser", result.Reason!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbage_is_refused_as_malformed()
    {
        var verifier = new TokenVerifier(SecretKey.Create());

        Assert.Equal(TokenFailure.Malformed, (await verifier.ValidateAsync("not-a-token")).Failure);
        Assert.Equal(TokenFailure.Malformed, (await verifier.ValidateAsync("")).Failure);
        Assert.Equal(TokenFailure.Malformed, (await verifier.ValidateAsync("a.b.c")).Failure);
    }

    [Fact]
    public async Task An_HS256_token_signed_with_the_public_key_bytes_is_refused_by_a_public_key_verifier()
    {
        // The classic key-confusion attack: the public key is no secret, so an HMAC "signed" with it proves nothing.
        using var pair = PrivateKey.Create();
        var publicPath = Path.Combine(Path.GetTempPath(), $"tiered-pub-{Guid.NewGuid():N}.pem");
        pair.PublicKey.Write(publicPath);
        try
        {
            var forged = TokenIssuer.Create(SecretKey.FromBytes(File.ReadAllBytes(publicPath)), "superuser");

            var result = await new TokenVerifier(pair.PublicKey).ValidateAsync(forged);

            Assert.Equal(TokenFailure.AlgorithmNotAccepted, result.Failure);
            Assert.Contains("HS256", result.Reason, StringComparison.Ordinal);
            Assert.Contains("RS256", result.Reason, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(publicPath);
        }
    }

    [Fact]
    public async Task An_RS256_token_is_refused_by_a_secret_key_verifier()
    {
        using var pair = PrivateKey.Create();

        var result = await new TokenVerifier(SecretKey.Create()).ValidateAsync(TokenIssuer.Create(pair, "app"));

        Assert.Equal(TokenFailure.AlgorithmNotAccepted, result.Failure);
    }

    [Fact]
    public async Task An_unsigned_token_alg_none_is_refused()
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var unsigned = handler.CreateToken("{\"sub\":\"superuser\"}");
        Assert.EndsWith(".", unsigned, StringComparison.Ordinal);

        var secret = await new TokenVerifier(SecretKey.Create()).ValidateAsync(unsigned);
        using var pair = PrivateKey.Create();
        var rsa = await new TokenVerifier(pair.PublicKey).ValidateAsync(unsigned);

        Assert.Equal(TokenFailure.AlgorithmNotAccepted, secret.Failure);
        Assert.Equal(TokenFailure.AlgorithmNotAccepted, rsa.Failure);
        Assert.Contains("alg none", secret.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_custom_role_claim_is_read_and_a_token_without_it_is_refused_naming_the_claim()
    {
        var key = SecretKey.Create();
        var verifier = new TokenVerifier(key, new TokenVerifierOptions { RoleClaim = "role" });

        var withClaim = await verifier.ValidateAsync(TokenIssuer.Create(key, "ops", roleClaim: "role"));
        var withSubOnly = await verifier.ValidateAsync(TokenIssuer.Create(key, "ops"));

        Assert.Equal("ops", withClaim.Role);
        Assert.Equal(TokenFailure.MissingRoleClaim, withSubOnly.Failure);
        Assert.Contains("\"role\"", withSubOnly.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_whose_role_claim_is_not_text_is_refused()
    {
        var key = SecretKey.Create();
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var raw = Encoding.ASCII.GetBytes(key.ToBase64());
        var token = handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["role"] = new[] { "ops", "superuser" } },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(raw), SecurityAlgorithms.HmacSha256),
        });

        var result = await new TokenVerifier(SecretKey.FromBytes(raw), new TokenVerifierOptions { RoleClaim = "role" }).ValidateAsync(token);

        Assert.Equal(TokenFailure.MissingRoleClaim, result.Failure);
        Assert.Contains("not a non-empty string", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_verified_token_is_answered_from_the_cache_the_second_time_and_a_changed_one_is_not()
    {
        var key = SecretKey.Create();
        var verifier = new TokenVerifier(key);
        var token = TokenIssuer.Create(key, "app", TimeSpan.FromHours(1));

        Assert.True((await verifier.ValidateAsync(token)).IsValid);
        Assert.Equal(0, verifier.CacheHits);
        Assert.Equal("app", (await verifier.ValidateAsync(token)).Role);
        Assert.Equal(1, verifier.CacheHits);

        var tampered = token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1];
        Assert.False((await verifier.ValidateAsync(tampered)).IsValid);
        Assert.Equal(1, verifier.CacheHits);
    }

    [Fact]
    public async Task A_cached_token_is_refused_once_it_expires()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var key = SecretKey.Create();
        var verifier = new TokenVerifier(key, new TokenVerifierOptions { TimeProvider = clock });
        var token = TokenIssuer.Create(key, "app", TimeSpan.FromMinutes(10), clock);
        Assert.True((await verifier.ValidateAsync(token)).IsValid);
        Assert.True((await verifier.ValidateAsync(token)).IsValid);
        Assert.Equal(1, verifier.CacheHits);

        clock.Advance(TimeSpan.FromMinutes(11));
        var result = await verifier.ValidateAsync(token);

        Assert.Equal(TokenFailure.Expired, result.Failure);
        Assert.Equal(1, verifier.CacheHits);
        Assert.Equal(0, verifier.CachedCount);
    }

    [Fact]
    public async Task The_cache_stays_within_its_capacity()
    {
        var key = SecretKey.Create();
        var verifier = new TokenVerifier(key, new TokenVerifierOptions { CacheCapacity = 20 });

        for (var i = 0; i < 100; i++)
            Assert.True((await verifier.ValidateAsync(TokenIssuer.Create(key, $"role-{i}"))).IsValid);

        Assert.InRange(verifier.CachedCount, 1, 20);
    }

    [Fact]
    public async Task The_clock_skew_accepts_a_token_just_past_its_exp()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var key = SecretKey.Create();
        var token = TokenIssuer.Create(key, "app", clock.GetUtcNow() - TimeSpan.FromSeconds(30));

        var strict = await new TokenVerifier(key, new TokenVerifierOptions { TimeProvider = clock }).ValidateAsync(token);
        var lenient = await new TokenVerifier(key, new TokenVerifierOptions { TimeProvider = clock, ClockSkew = TimeSpan.FromMinutes(1) }).ValidateAsync(token);

        Assert.Equal(TokenFailure.Expired, strict.Failure);
        Assert.True(lenient.IsValid);
    }
}
