using Google.Protobuf;
using Tiered.Metadata.State;
using Tiered.Metadata.V1;
using static Tiered.Metadata.Tests.Commands;

namespace Tiered.Metadata.Tests;

/// <summary>Every replica applies the same log, so the state must depend on nothing but the commands.</summary>
public sealed class DeterminismTests
{
    private const int Seed = 20_240_601;
    private const int CommandCount = 2_000;

    [Fact]
    public void Two_states_applying_the_same_2000_random_commands_answer_alike_and_end_byte_identical()
    {
        var first = new MetadataState();
        var second = new MetadataState();
        using var stop = new CancellationTokenSource();
        var events = first.Watches.Subscribe("/", 0, first.Revision, stop.Token);
        var failures = new Dictionary<MetadataErrorCode, int>();
        var successes = 0;
        var expiredDeletes = 0;
        var step = 0;

        foreach (var command in new RandomCommands(Seed).Take(CommandCount))
        {
            var proposedAtMs = 1_000L * step;
            var before = first.ToSnapshot().ToByteArray();
            var revision = first.Revision;

            var (firstResponse, firstError) = TryApply(first, command, proposedAtMs);
            var (secondResponse, secondError) = TryApply(second, command, proposedAtMs);
            var published = events.Drain();

            Assert.True(Equals(firstResponse, secondResponse), $"Step {step}, {command}: {firstResponse} differs from {secondResponse}.");
            Assert.Equal(firstError, secondError);
            if (firstError is { } code)
            {
                failures[code] = failures.GetValueOrDefault(code) + 1;
                Assert.Equal(revision, first.Revision);
                Assert.True(before.AsSpan().SequenceEqual(first.ToSnapshot().ToByteArray()), $"Step {step}: rejected {command} changed the state.");
                Assert.Empty(published);
            }
            else
            {
                successes++;
                Assert.Equal(Revisions(revision + 1, first.Revision), published.Select(e => e.Revision));
                expiredDeletes += published.Count(e => e.Expired);
            }
            step++;
        }

        Assert.Equal(first.ToSnapshot().ToByteArray(), second.ToSnapshot().ToByteArray());
        Assert.All(first.Range("/"), kv => Assert.True(kv.SessionId == 0 || first.TryGetSession(kv.SessionId, out _, out _)));
        // The sequence exercised what it is meant to: successes, every kind of rejection, session expiry.
        Assert.InRange(successes, CommandCount / 3, CommandCount);
        Assert.All(
            new[] { MetadataErrorCode.BadVersion, MetadataErrorCode.SessionNotFound, MetadataErrorCode.InvalidArgument, MetadataErrorCode.BadKey },
            code => Assert.True(failures.GetValueOrDefault(code) > 5, $"Only {failures.GetValueOrDefault(code)} commands failed with {code}."));
        Assert.True(expiredDeletes > 0);
        Assert.True(first.KeyCount > 0);
    }

    [Fact]
    public void A_state_restored_from_a_snapshot_midway_answers_every_later_command_alike()
    {
        var (full, restored) = ApplyWithRestoreMidway();

        Assert.Equal(full.Revision, restored.Revision);
        Assert.Equal(full.Range("/"), restored.Range("/"));
        Assert.Equal(full.SessionIds.Order(), restored.SessionIds.Order());
        Assert.Equal(full.ToSnapshot().Counters, restored.ToSnapshot().Counters);
    }

    [Fact]
    public void A_state_restored_from_a_snapshot_midway_ends_with_the_same_snapshot_bytes()
    {
        var (full, restored) = ApplyWithRestoreMidway();

        Assert.Equal(full.ToSnapshot().ToByteArray(), restored.ToSnapshot().ToByteArray());
    }

    [Fact]
    public void A_snapshot_lists_sessions_in_the_same_order_on_a_restored_replica_and_on_one_that_replayed_the_log()
    {
        var replayed = new MetadataState();
        replayed.CreateSession();
        replayed.CreateSession();
        replayed.CreateSession();
        replayed.ApplyOk<CloseSessionResponse>(CloseSession(1));
        var restored = new MetadataState();
        restored.Restore(StateSnapshot.Parser.ParseFrom(replayed.ToSnapshot().ToByteArray()));

        replayed.CreateSession();
        restored.CreateSession();

        Assert.Equal(
            replayed.ToSnapshot().Sessions.Select(s => s.SessionId),
            restored.ToSnapshot().Sessions.Select(s => s.SessionId));
    }

    private static (MetadataState Full, MetadataState Restored) ApplyWithRestoreMidway()
    {
        var commands = new RandomCommands(Seed).Take(CommandCount).ToList();
        var full = new MetadataState();
        var restored = new MetadataState();
        for (var step = 0; step < commands.Count; step++)
        {
            if (step == commands.Count / 2)
                restored.Restore(StateSnapshot.Parser.ParseFrom(full.ToSnapshot().ToByteArray()));
            var (expected, expectedError) = TryApply(full, commands[step], step);
            if (step < commands.Count / 2)
                continue;
            var (actual, actualError) = TryApply(restored, commands[step], step);
            Assert.True(Equals(expected, actual), $"Step {step}, {commands[step]}: {expected} differs from {actual}.");
            Assert.Equal(expectedError, actualError);
        }
        return (full, restored);
    }

    private static (IMessage? Response, MetadataErrorCode? Error) TryApply(MetadataState state, Command command, long proposedAtMs)
    {
        try
        {
            return (state.Apply(command, proposedAtMs), null);
        }
        catch (MetadataException e)
        {
            return (null, e.Code);
        }
    }

    private static IEnumerable<long> Revisions(long from, long to)
    {
        for (var r = from; r <= to; r++)
            yield return r;
    }
}
