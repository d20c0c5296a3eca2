using Tiered.Metadata.State;
using Tiered.Metadata.V1;

namespace Tiered.Metadata.Tests;

public sealed class WatchTests
{
    private static TimeSpan Deadline => TimeSpan.FromSeconds(10);

    private readonly MetadataState _state = new();

    [Fact]
    public void A_watch_from_revision_r_replays_exactly_the_later_changes_under_its_prefix_and_then_live_ones()
    {
        _state.Put("/a/1", "a1");  // revision 1
        _state.Put("/b/1");        // 2
        _state.Put("/a/2", "a2");  // 3
        _state.Put("/a/1", "a1'"); // 4
        _state.Delete("/a/2");     // 5
        _state.Put("/b/2");        // 6
        _state.Put("/a", "not under /a/"); // 7
        using var stop = new CancellationTokenSource();

        var events = _state.Watches.Subscribe("/a/", 2, _state.Revision, stop.Token);

        var backlog = events.Drain();
        Assert.Equal([3L, 4L, 5L], backlog.Select(e => e.Revision));
        Assert.Equal(["/a/2", "/a/1", "/a/2"], backlog.Select(e => e.Kv.Key));
        Assert.Equal([WatchEvent.Types.Type.Put, WatchEvent.Types.Type.Put, WatchEvent.Types.Type.Delete], backlog.Select(e => e.Type));
        Assert.Equal(_state.Get("/a/1"), backlog[1].Kv);
        Assert.Equal(5, backlog[2].Kv.ModRevision);
        Assert.False(backlog[2].Expired);

        _state.Put("/a/3", "a3"); // 8
        _state.Put("/b/3");       // 9
        _state.Delete("/a/1");    // 10

        Assert.Equal([8L, 10L], events.Drain().Select(e => e.Revision));
    }

    [Fact]
    public void A_watch_from_revision_0_receives_only_changes_made_after_it_started()
    {
        _state.Put("/a/1");
        _state.Put("/a/2");
        using var stop = new CancellationTokenSource();

        var events = _state.Watches.Subscribe("/", 0, _state.Revision, stop.Token);

        Assert.Empty(events.Drain());
        _state.Put("/a/3");
        var live = Assert.Single(events.Drain());
        Assert.Equal(("/a/3", 3L), (live.Kv.Key, live.Revision));
    }

    [Fact]
    public void A_watch_from_the_current_revision_receives_nothing_until_the_next_change()
    {
        _state.Put("/a/1");
        using var stop = new CancellationTokenSource();

        var events = _state.Watches.Subscribe("/", _state.Revision, _state.Revision, stop.Token);

        Assert.Empty(events.Drain());
        _state.Put("/a/1");
        Assert.Equal(2, Assert.Single(events.Drain()).Revision);
    }

    [Fact]
    public void A_watch_from_a_revision_this_state_has_not_reached_yet_skips_changes_up_to_that_revision()
    {
        // A client resuming at revision 3 on a replica that has applied only revision 1 must not see 2 and 3 again.
        _state.Put("/a/1");
        using var stop = new CancellationTokenSource();

        var events = _state.Watches.Subscribe("/", 3, _state.Revision, stop.Token);
        _state.Put("/a/2");
        _state.Put("/a/3");
        _state.Put("/a/4");

        Assert.Equal([4L], events.Drain().Select(e => e.Revision));
    }

    [Fact]
    public void Two_watches_on_different_prefixes_each_receive_only_their_own_changes()
    {
        using var stop = new CancellationTokenSource();
        var a = _state.Watches.Subscribe("/a/", 0, _state.Revision, stop.Token);
        var b = _state.Watches.Subscribe("/b/", 0, _state.Revision, stop.Token);

        _state.Put("/a/1");
        _state.Put("/b/1");
        _state.Put("/c/1");

        Assert.Equal(["/a/1"], a.Drain().Select(e => e.Kv.Key));
        Assert.Equal(["/b/1"], b.Drain().Select(e => e.Kv.Key));
    }

    [Fact]
    public void A_watch_from_a_revision_older_than_the_kept_history_fails_with_compacted()
    {
        var state = new MetadataState(watchHistory: 10);
        for (var i = 0; i < 25; i++)
            state.Put($"/k/{i}");
        using var stop = new CancellationTokenSource();

        // Revisions 16..25 are kept: a watch from 15 is complete, one from 14 would miss revision 15.
        Assert.Equal(MetadataErrorCode.Compacted,
            Assert.Throws<MetadataException>(() => state.Watches.Subscribe("/", 14, state.Revision, stop.Token)).Code);
        Assert.Equal(MetadataErrorCode.Compacted,
            Assert.Throws<MetadataException>(() => state.Watches.Subscribe("/", 1, state.Revision, stop.Token)).Code);
        var events = state.Watches.Subscribe("/", 15, state.Revision, stop.Token);

        Assert.Equal(Enumerable.Range(16, 10).Select(r => (long)r), events.Drain().Select(e => e.Revision));
    }

    [Fact]
    public void A_negative_start_revision_is_an_invalid_argument()
    {
        var error = Assert.Throws<MetadataException>(() => _state.Watches.Subscribe("/", -1, _state.Revision, CancellationToken.None));

        Assert.Equal(MetadataErrorCode.InvalidArgument, error.Code);
    }

    [Fact]
    public async Task Cancelling_a_watch_completes_its_reader_and_stops_delivery()
    {
        using var stop = new CancellationTokenSource();
        var events = _state.Watches.Subscribe("/", 0, _state.Revision, stop.Token);
        Assert.Equal(1, _state.Watches.WatcherCount);

        await stop.CancelAsync();

        await events.Completion.WaitAsync(Deadline);
        _state.Put("/a");
        Assert.False(events.TryRead(out _));
        Assert.Equal(0, _state.Watches.WatcherCount);
    }

    [Fact]
    public async Task A_watch_started_with_a_cancelled_token_is_already_complete()
    {
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync();

        var events = _state.Watches.Subscribe("/", 0, _state.Revision, stop.Token);

        await events.Completion.WaitAsync(Deadline);
    }

    [Fact]
    public async Task A_watcher_that_falls_more_than_its_buffer_behind_gets_its_buffered_events_then_compacted()
    {
        using var stop = new CancellationTokenSource();
        var events = _state.Watches.Subscribe("/", 0, _state.Revision, stop.Token);

        for (var i = 0; i <= WatchHub.WatcherBuffer; i++)
            _state.Put("/k");

        var delivered = events.Drain();
        Assert.Equal(Enumerable.Range(1, WatchHub.WatcherBuffer).Select(r => (long)r), delivered.Select(e => e.Revision));
        var error = await Assert.ThrowsAsync<MetadataException>(() => events.Completion.WaitAsync(Deadline));
        Assert.Equal(MetadataErrorCode.Compacted, error.Code);
        Assert.Equal(0, _state.Watches.WatcherCount);
    }
}
