namespace Tiered.Client.Sessions;

/// <summary>
/// The reconnecting loop under every producer and consumer: look the topic up, open the stream at the broker named,
/// serve it; when it fails, follow an owner redirect at once (<see cref="OwnerRedirect"/>), else give up on a
/// permanent refusal or wait a jittered backoff (<see cref="Backoff"/>) and start again with a new lookup. A stream
/// that opened resets the backoff and the redirect count. Only a redirect is dialed without a lookup: after any other
/// failure (the owner unreachable, the stream ended as the broker unloads the topic or stops) the broker last served
/// from is never assumed, since it may be dead or no longer the owner; the lookup goes through the service URL's hosts
/// (<see cref="TieredClient.LookupCoreAsync"/>), which pass over a dead one. When the owner could not be reached at
/// all (connection refused or cut), the next lookup names it, and a broker of a cluster answers once that owner has
/// been replaced, so the session reconnects as soon as the topic has a new owner.
/// </summary>
internal sealed class StreamSession(TieredClient client, ISessionStream stream)
{
    public async Task RunAsync(CancellationToken stop)
    {
        var options = client.Options;
        var backoff = new Backoff(options.ReconnectInitialBackoff, options.ReconnectMaxBackoff, client.Jitter);
        string? redirect = null;
        string? unreachable = null;
        var redirects = 0;
        while (!stop.IsCancellationRequested)
        {
            Exception failure;
            var opened = false;
            string? brokerUrl = null;
            try
            {
                brokerUrl = redirect ?? (await client.LookupCoreAsync(stream.Topic, stop, unreachable).ConfigureAwait(false)).BrokerUrl;
                redirect = null;
                await stream.ServeAsync(brokerUrl, stop).ConfigureAwait(false);
                failure = new StreamEndedException($"The broker ended the {stream.Role}'s stream on {stream.Topic}.");
                opened = true;
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (StreamOpenedThenFailedException e)
            {
                failure = e.InnerException!;
                opened = true;
            }
            catch (Exception e)
            {
                failure = e;
            }
            if (opened)
            {
                backoff.Reset();
                redirects = 0;
            }
            unreachable = brokerUrl is not null && Retry.IsUnreachable(failure) ? brokerUrl : null;
            if (OwnerRedirect.OwnerOf(failure) is { } owner)
            {
                if (++redirects > OwnerRedirect.MaxRedirects)
                {
                    stream.OnFailed(OwnerRedirect.TooMany($"The {stream.Role}", stream.Topic, owner));
                    return;
                }
                redirect = owner;
                continue;
            }
            redirects = 0;
            if (!stream.IsRetriable(failure))
            {
                stream.OnFailed(failure);
                return;
            }
            var delay = backoff.Next();
            stream.OnReconnecting(failure, delay);
            try
            {
                await Task.Delay(delay, options.TimeProvider, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
