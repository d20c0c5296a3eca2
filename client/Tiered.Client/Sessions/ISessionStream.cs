namespace Tiered.Client.Sessions;

/// <summary>What a <see cref="StreamSession"/> drives: one producer's or one consumer's stream.</summary>
internal interface ISessionStream
{
    string Topic { get; }

    /// <summary>"producer" or "consumer", for messages.</summary>
    string Role { get; }

    /// <summary>
    /// Opens the stream at <paramref name="brokerUrl"/> and serves it until it ends (returns) or fails (throws). A
    /// failure after the stream opened is wrapped in <see cref="StreamOpenedThenFailedException"/>.
    /// </summary>
    Task ServeAsync(string brokerUrl, CancellationToken stop);

    /// <summary>Whether reconnecting may help after <paramref name="failure"/> (see <see cref="Retry.IsRetriable"/>).</summary>
    bool IsRetriable(Exception failure);

    /// <summary>The session waits <paramref name="delay"/>, then looks the topic up again.</summary>
    void OnReconnecting(Exception failure, TimeSpan delay);

    /// <summary>The session gave up: <paramref name="failure"/> is permanent. Fail what waits on the stream.</summary>
    void OnFailed(Exception failure);
}

/// <summary>The stream had opened, then failed: the next attempt starts from the initial backoff.</summary>
internal sealed class StreamOpenedThenFailedException(Exception inner) : Exception(inner.Message, inner);
