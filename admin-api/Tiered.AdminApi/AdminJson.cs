using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Tiered.Broker;
using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.AdminApi;

/// <summary>
/// Pulsar's JSON (camelCase; the models name their snake_case fields), used for request bodies and
/// for what is stored in the metadata service. Bodies are read here rather than by parameter
/// binding, so a malformed one is answered with the parser's reason as problem details.
/// </summary>
internal static partial class AdminJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        AllowTrailingCommas = false,
    };

    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    /// <summary>Parses a stored value; a value that is not valid JSON is a broken store, reported with its key.</summary>
    public static T Deserialize<T>(KeyValue kv)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(kv.Value.Span, Options)
                ?? throw new InvalidDataException($"The value stored at '{kv.Key}' is null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The value stored at '{kv.Key}' is not a valid {typeof(T).Name}: {e.Message}", e);
        }
    }

    /// <summary>The request body as <typeparamref name="T"/>; null when it is empty and not <paramref name="required"/>.</summary>
    public static async Task<T?> ReadBodyAsync<T>(HttpRequest request, bool required, CancellationToken cancellationToken)
        => Parse<T>(await ReadRawBodyAsync(request, cancellationToken).ConfigureAwait(false), required);

    /// <summary>The request body's bytes, refused past what one metadata value can hold; for a body read as more than one shape.</summary>
    public static async Task<ReadOnlyMemory<byte>> ReadRawBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            // Admin objects are stored whole in one metadata value; stop reading a body that cannot be one.
            if (buffer.Length + read > KeyPath.MaxValueBytes)
                throw new BrokerException(BrokerErrorCode.BadRequest, $"The request body is larger than {KeyPath.MaxValueBytes} bytes.");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>A body as <typeparamref name="T"/>; null when it is empty and not <paramref name="required"/>; BadRequest with the parser's reason in JSON terms.</summary>
    public static T? Parse<T>(ReadOnlyMemory<byte> body, bool required)
    {
        if (body.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            return required
                ? throw new BrokerException(BrokerErrorCode.BadRequest, $"A JSON body ({Describe<T>()}) is required.")
                : default;
        }
        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(body.Span, Options);
        }
        catch (JsonException e)
        {
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid JSON body, expected {Describe<T>()}: {Explain(e, typeof(T))}");
        }
        if (value is null && required)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"A JSON body ({Describe<T>()}) is required, not null.");
        return value;
    }

    private static string Describe<T>() => Describe(typeof(T));

    /// <summary>The JSON a body of <paramref name="type"/> is, in the API's words: never a .NET type name.</summary>
    internal static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(int) || type == typeof(long))
            return "an integer";
        if (type == typeof(bool))
            return "true or false";
        if (type == typeof(string))
            return "a string";
        var info = Options.GetTypeInfo(type);
        return info.Kind switch
        {
            JsonTypeInfoKind.Object => "an object {" + string.Join(", ", info.Properties.Select(p => $"\"{p.Name}\": …")) + "}",
            JsonTypeInfoKind.Enumerable => "an array",
            _ => "a JSON value",
        };
    }

    /// <summary>
    /// The parser's reason without the .NET type names System.Text.Json puts in some of its
    /// messages ("could not be converted to System.Nullable`1[System.Int32]"): what JSON was expected where.
    /// </summary>
    internal static string Explain(JsonException e, Type body)
    {
        var at = string.IsNullOrEmpty(e.Path) ? "" : $" at {e.Path}";
        var message = e.Message;
        if (ConvertedTo().Match(message) is { Success: true } converted)
            return $"the value{at} is not {(TypeAt(body, e.Path) is { } type ? Describe(type) : Expected(converted.Groups[1].Value))}.";
        if (MissingRequired().Match(message) is { Success: true } missing)
            return $"required properties are missing: {missing.Groups[1].Value}.";
        if (message.Contains("doesn't allow setting null", StringComparison.Ordinal) || message.Contains("null", StringComparison.Ordinal) && message.Contains("System.", StringComparison.Ordinal))
            return $"the value{at} must not be null.";
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        var reason = cut >= 0 ? message[..cut] : message;
        return reason.Contains("System.", StringComparison.Ordinal) || reason.Contains("Tiered.", StringComparison.Ordinal) || reason.Contains('`', StringComparison.Ordinal)
            ? $"the JSON{at} does not have the expected shape."
            : $"{reason}{(e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "")}";
    }

    /// <summary>The type of the property at a simple JSON path ($.a.b) of <paramref name="body"/>; null when it cannot tell.</summary>
    private static Type? TypeAt(Type body, string? path)
    {
        if (path is null || !path.StartsWith("$.", StringComparison.Ordinal) || path.Contains('[', StringComparison.Ordinal))
            return null;
        var type = body;
        foreach (var name in path[2..].Split('.'))
        {
            var info = Options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
            if (info.Kind != JsonTypeInfoKind.Object || info.Properties.FirstOrDefault(p => p.Name == name) is not { } property)
                return null;
            type = property.PropertyType;
        }
        return type;
    }

    /// <summary>What JSON a .NET type named in a parser message stands for.</summary>
    private static string Expected(string clrType)
    {
        if (clrType.Contains("List`", StringComparison.Ordinal) || clrType.Contains("[]", StringComparison.Ordinal))
            return "an array";
        var name = clrType.TrimEnd('.', ']');
        return name[(name.LastIndexOf('.') + 1)..] switch
        {
            "Int32" => $"an integer from {int.MinValue} to {int.MaxValue}",
            "Int64" => $"an integer from {long.MinValue} to {long.MaxValue}",
            "Boolean" => "true or false",
            "String" => "a string",
            _ => "of the expected type (see the OpenAPI document)",
        };
    }

    [GeneratedRegex(@"could not be converted to ([\w.`\[\]]+)")]
    private static partial Regex ConvertedTo();

    [GeneratedRegex(@"missing required properties including: (.*)\.?$")]
    private static partial Regex MissingRequired();
}
