using Tiered.ManagedLedgers;

namespace Tiered.Broker.Topics;

/// <summary>
/// A topic's offload process (triggered by the admin API or by the namespace's threshold): at
/// most one runs at a time; its outcome is kept for GET …/offload.
/// </summary>
public sealed class TopicOffload
{
    private readonly Lock _lock = new();
    private Task? _running;

    public enum State
    {
        NotRun,
        Running,
        Success,
        Error,
    }

    public State Status { get; private set; } = State.NotRun;

    public string LastError { get; private set; } = "";

    /// <summary>The running offload, if one runs (tests and shutdown wait for it).</summary>
    public Task? Running
    {
        get
        {
            lock (_lock)
                return _running;
        }
    }

    /// <summary>Starts <paramref name="offload"/> in the background unless one is running (then false).</summary>
    public bool TryStart(Func<Task<OffloadOutcome>> offload, Action<Exception> failed)
    {
        lock (_lock)
        {
            if (_running is not null)
                return false;
            Status = State.Running;
            _running = Task.Run(async () =>
            {
                State status;
                var error = "";
                try
                {
                    await offload().ConfigureAwait(false);
                    status = State.Success;
                }
                catch (Exception e)
                {
                    status = State.Error;
                    error = e.Message;
                    failed(e);
                }
                lock (_lock)
                {
                    (Status, LastError) = (status, error);
                    _running = null;
                }
            });
            return true;
        }
    }
}
