using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Tiered.Client;

namespace Tiered.Cli.Messaging;

/// <summary><c>tiered consume</c>'s negative-ack, ack-timeout and dead-letter options (docs/messaging.md).</summary>
internal sealed class NegativeAckCommandLine
{
    public Option<bool> Nack { get; } = new("--nack")
    {
        Description = "Negatively acknowledge every message instead of acknowledging it (for testing redelivery and dead-letter topics).",
    };

    public Option<TimeSpan?> NackDelay { get; } = DurationOption("--nack-delay", "How long after a negative ack a message comes again (default 1m).");

    public Option<TimeSpan?> AckTimeout { get; } = DurationOption("--ack-timeout", "Deliver again what this consumer holds unacknowledged longer than this (at least 1s; default none).");

    public Option<int?> MaxRedeliver { get; } = new("--dlq-max-redeliver")
    {
        HelpName = "N",
        Description = "Dead-letter policy: a message delivered N+1 times and not acknowledged goes to the dead-letter topic.",
    };

    public Option<string?> DeadLetterTopic { get; } = new("--dlq-topic")
    {
        HelpName = "TOPIC",
        Description = "The dead-letter topic (default {topic}-{subscription}-DLQ); needs --dlq-max-redeliver.",
    };

    public Option<string?> RetryTopic { get; } = new("--retry-topic")
    {
        HelpName = "TOPIC",
        Description = "The retry topic of the dead-letter policy (default {topic}-{subscription}-RETRY); needs --dlq-max-redeliver.",
    };

    public void AddTo(Command command)
    {
        MaxRedeliver.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 0)
                result.AddError("--dlq-max-redeliver must be 0 or more.");
        });
        command.Options.Add(Nack);
        command.Options.Add(NackDelay);
        command.Options.Add(AckTimeout);
        command.Options.Add(MaxRedeliver);
        command.Options.Add(DeadLetterTopic);
        command.Options.Add(RetryTopic);
    }

    /// <summary>The options with these flags applied.</summary>
    public ConsumerOptions Apply(ConsumerOptions options, ParseResult parseResult)
    {
        var max = parseResult.GetValue(MaxRedeliver);
        var dlq = parseResult.GetValue(DeadLetterTopic);
        var retry = parseResult.GetValue(RetryTopic);
        if (max is null && (dlq is not null || retry is not null))
            throw new ArgumentException("--dlq-topic and --retry-topic need --dlq-max-redeliver.");
        return options with
        {
            NegativeAckDelay = parseResult.GetValue(NackDelay),
            AckTimeout = parseResult.GetValue(AckTimeout),
            DeadLetterPolicy = max is { } n ? new DeadLetterPolicy { MaxRedeliverCount = n, DeadLetterTopic = dlq, RetryLetterTopic = retry } : null,
        };
    }

    /// <summary>A duration: a number with ms, s, m or h (a bare number is seconds), e.g. 500ms, 4s, 1m.</summary>
    private static Option<TimeSpan?> DurationOption(string name, string description) => new(name)
    {
        HelpName = "DURATION",
        Description = description,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (TryParseDuration(text, out var duration))
                return duration;
            result.AddError($"{name} {text}: give a duration that is not negative, e.g. 500ms, 4s, 2m or 1h.");
            return null;
        },
    };

    internal static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1.0)
            : text.EndsWith('s') ? (text[..^1], 1000.0)
            : text.EndsWith('m') ? (text[..^1], 60_000.0)
            : text.EndsWith('h') ? (text[..^1], 3_600_000.0)
            : (text, 1000.0);
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value * unit))
            return false;
        duration = TimeSpan.FromMilliseconds(value * unit);
        return true;
    }
}
