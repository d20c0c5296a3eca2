using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Tiered.Security.Tokens;

namespace Tiered.Cli;

/// <summary>
/// <c>tiered tokens</c>, as <c>pulsar tokens</c>: create the keys tokens are signed with, issue a token for a role,
/// show what a token says, and check a token against a key. Keys and tokens are never printed in error messages.
/// </summary>
internal static class TokensCommand
{
    public static Command Create() => new(
        "tokens",
        "Create keys and JWT tokens for authentication (as 'pulsar tokens'): a secret key (HS256) or an RSA key pair (RS256; brokers "
        + "need only the public key), tokens whose subject is a role, and checks of a token against a key.")
    {
        CreateSecretKey(),
        CreateKeyPair(),
        CreateToken(),
        Show(),
        Validate(),
    };

    private static Command CreateSecretKey()
    {
        var output = new Option<string?>("--output", "-o")
        {
            HelpName = "FILE",
            Description = "Write the key to this new file (readable by its owner only; an existing file is not overwritten). "
                + "The file's bytes are the key: give the same file wherever the key is needed.",
        };
        var base64 = new Option<bool>("--base64")
        {
            Description = "Print the key as base64 (without --output), or write its base64 text to --output (then that text is the key, as with Pulsar).",
        };
        var command = new Command("create-secret-key", "Create a random 256-bit secret key for HS256 tokens. Whoever holds it can issue tokens: keep it secret.")
        {
            output, base64,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(output) is null && !result.GetValue(base64))
                result.AddError("Give --output FILE to write the key to a file, or --base64 to print it as base64.");
        });
        command.SetAction(parseResult =>
        {
            var key = SecretKey.Create();
            var path = parseResult.GetValue(output);
            if (path is null)
            {
                Console.WriteLine(key.ToBase64());
                return Exit.Ok;
            }
            return KeyFailure(() =>
            {
                key.Write(path, parseResult.GetValue(base64));
                Console.Error.WriteLine($"secret key ({SecretKey.MinimumBytes} bytes{(parseResult.GetValue(base64) ? ", as base64 text" : "")}) written to {path}, readable by its owner only");
            });
        });
        return command;
    }

    private static Command CreateKeyPair()
    {
        var privateOutput = new Option<string>("--output-private")
        {
            HelpName = "FILE",
            Description = "New file for the private key (PKCS#8 PEM, readable by its owner only): it issues tokens; keep it secret.",
            Required = true,
        };
        var publicOutput = new Option<string>("--output-public")
        {
            HelpName = "FILE",
            Description = "New file for the public key (SubjectPublicKeyInfo PEM): it only verifies tokens; this is what brokers hold.",
            Required = true,
        };
        var command = new Command("create-key-pair", "Create an RSA 2048 key pair for RS256 tokens. Existing files are not overwritten.")
        {
            privateOutput, publicOutput,
        };
        command.SetAction(parseResult => KeyFailure(() =>
        {
            var privatePath = parseResult.GetValue(privateOutput)!;
            var publicPath = parseResult.GetValue(publicOutput)!;
            if (Path.GetFullPath(privatePath) == Path.GetFullPath(publicPath))
                throw new TokenKeyException("--output-private and --output-public name the same file; give two files.");
            if (File.Exists(publicPath))
                throw new TokenKeyException($"{publicPath} exists already: a public key is never overwritten. Remove it first or choose another file.");
            using var key = PrivateKey.Create();
            key.Write(privatePath);
            key.PublicKey.Write(publicPath);
            Console.Error.WriteLine($"private key written to {privatePath} (readable by its owner only), public key to {publicPath}");
        }));
        return command;
    }

    private static Command CreateToken()
    {
        var secretKey = SecretKeyOption("The secret key file to sign with (HS256).");
        var privateKey = new Option<string?>("--private-key")
        {
            HelpName = "FILE",
            Description = "The private key file to sign with (RS256; PEM from create-key-pair).",
        };
        var subject = new Option<string>("--subject", "-s")
        {
            HelpName = "ROLE",
            Description = "The role the token authenticates (its 'sub' claim).",
            Required = true,
        };
        subject.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValueOrDefault<string>()))
                result.AddError("--subject must name a role.");
        });
        var expiry = new Option<string?>("--expiry", "--expiry-time")
        {
            HelpName = "DURATION",
            Description = "How long the token is valid: a number and a unit, s, m (minutes), h, d, w or y, e.g. 30m, 1h, 7d. Default: it never expires.",
        };
        expiry.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } text && !TokenLifetime.TryParse(text, out _, out var error))
                result.AddError($"--expiry {error}");
        });
        var roleClaim = RoleClaimOption("The claim that carries the role, for clusters configured with another one.");
        var command = new Command("create", "Issue a token for a role, signed with a secret key or a private key, and print it.")
        {
            secretKey, privateKey, subject, expiry, roleClaim,
        };
        command.Validators.Add(result => RequireOneKey(result, secretKey, privateKey));
        command.SetAction(parseResult =>
        {
            SigningKey? key = null;
            try
            {
                key = parseResult.GetValue(secretKey) is { } secretPath ? SecretKey.Read(secretPath) : PrivateKey.Read(parseResult.GetValue(privateKey)!);
                DateTimeOffset? expiresAt = parseResult.GetValue(expiry) is { } text && TokenLifetime.TryParse(text, out var lifetime, out _)
                    ? DateTimeOffset.UtcNow + lifetime
                    : null;
                Console.WriteLine(TokenIssuer.Create(key, parseResult.GetValue(subject)!.Trim(), expiresAt, parseResult.GetValue(roleClaim)!));
                return Exit.Ok;
            }
            catch (TokenKeyException e)
            {
                return Exit.Error(Exit.BadOptions, e.Message);
            }
            finally
            {
                (key as IDisposable)?.Dispose();
            }
        });
        return command;
    }

    private static Command Show()
    {
        var token = TokenArgument();
        var command = new Command("show", "Print a token's header and claims as JSON, WITHOUT verifying it: anyone can write any claims into a token. "
            + "Use 'tiered tokens validate' to check it against a key.")
        {
            token,
        };
        command.SetAction(parseResult =>
        {
            try
            {
                var contents = UnverifiedToken.Read(ReadToken(parseResult.GetValue(token)!));
                Console.WriteLine(JsonSerializer.Serialize(new { header = contents.Header, payload = contents.Payload }, Indented));
                var now = DateTimeOffset.UtcNow;
                Console.Error.WriteLine((contents.ExpiresAt switch
                {
                    null => "no exp: never expires",
                    { } at when at <= now => $"expired at {Time(at)}",
                    { } at => $"expires at {Time(at)}",
                }) + "; signature not verified (tiered tokens validate checks it)");
                return Exit.Ok;
            }
            catch (FormatException e)
            {
                return Exit.Error(Exit.Failed, e.Message);
            }
        });
        return command;
    }

    private static Command Validate()
    {
        var secretKey = SecretKeyOption("The secret key file the token must be signed with (HS256).");
        var publicKey = new Option<string?>("--public-key")
        {
            HelpName = "FILE",
            Description = "The public key file (PEM) of the pair whose private key must have signed the token (RS256).",
        };
        var roleClaim = RoleClaimOption("The claim that carries the role.");
        var token = TokenArgument();
        var command = new Command("validate", "Check a token as a broker with the same key would: signature, algorithm, expiry and role claim. "
            + "Prints the role and exits 0, or prints why the token is refused and exits 1.")
        {
            secretKey, publicKey, roleClaim, token,
        };
        command.Validators.Add(result => RequireOneKey(result, secretKey, publicKey));
        command.SetAction(async parseResult =>
        {
            PublicKey? rsa = null;
            try
            {
                var options = new TokenVerifierOptions { RoleClaim = parseResult.GetValue(roleClaim)!, CacheCapacity = 0 };
                TokenVerifier verifier;
                if (parseResult.GetValue(secretKey) is { } secretPath)
                {
                    verifier = new TokenVerifier(SecretKey.Read(secretPath), options);
                }
                else
                {
                    rsa = PublicKey.Read(parseResult.GetValue(publicKey)!);
                    verifier = new TokenVerifier(rsa, options);
                }
                var result = await verifier.ValidateAsync(ReadToken(parseResult.GetValue(token)!));
                if (!result.IsValid)
                    return Exit.Error(Exit.Failed, result.Reason!);
                Console.WriteLine(result.Role);
                Console.Error.WriteLine(result.ExpiresAt is { } at ? $"valid until {Time(at)}" : "valid; no exp: never expires");
                return Exit.Ok;
            }
            catch (TokenKeyException e)
            {
                return Exit.Error(Exit.BadOptions, e.Message);
            }
            finally
            {
                rsa?.Dispose();
            }
        });
        return command;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static Option<string?> SecretKeyOption(string description) => new("--secret-key") { HelpName = "FILE", Description = description };

    private static Option<string> RoleClaimOption(string description) => new("--role-claim")
    {
        HelpName = "NAME",
        Description = description,
        DefaultValueFactory = _ => TokenIssuer.DefaultRoleClaim,
    };

    private static Argument<string> TokenArgument() => new("TOKEN")
    {
        Description = "The token, or - to read it from stdin (keeps it out of the shell history and the process list).",
    };

    private static string ReadToken(string argument) => argument == "-" ? Console.In.ReadToEnd().Trim() : argument;

    private static void RequireOneKey(System.CommandLine.Parsing.CommandResult result, Option<string?> first, Option<string?> second)
    {
        var count = (result.GetValue(first) is null ? 0 : 1) + (result.GetValue(second) is null ? 0 : 1);
        if (count != 1)
            result.AddError($"Give one key: {first.Name} FILE or {second.Name} FILE{(count == 2 ? ", not both" : "")}.");
    }

    private static int KeyFailure(Action write)
    {
        try
        {
            write();
            return Exit.Ok;
        }
        catch (TokenKeyException e)
        {
            return Exit.Error(Exit.Failed, e.Message);
        }
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
