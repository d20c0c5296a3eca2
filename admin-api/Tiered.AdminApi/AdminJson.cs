using System.Text.Json;
using System.Text.Json.Serialization;
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
internal static class AdminJson
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
        var body = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
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
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid JSON body, expected {Describe<T>()}: {e.Message}");
        }
        if (value is null && required)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"A JSON body ({Describe<T>()}) is required, not null.");
        return value;
    }

    private static string Describe<T>() => typeof(T) == typeof(int) || typeof(T) == typeof(long) ? "an integer" : $"a {typeof(T).Name} object";
}
