using System.Runtime.InteropServices;

namespace Tiered.Cli;

/// <summary>
/// Turns SIGINT (Ctrl-C), SIGTERM, SIGQUIT and, as a last resort, process exit into one
/// cancellation token, so a server command stops its components in order and exits 0
/// instead of being killed in the middle of a write.
/// </summary>
internal sealed class Shutdown : IDisposable
{
    /// <summary>How long a stop may take before the process exits anyway.</summary>
    public static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _requested;
    private readonly PosixSignalRegistration[] _signals;
    private readonly ManualResetEventSlim _stopped = new();

    /// <param name="commandLineToken">The token System.CommandLine gives the action; it is cancelled on SIGINT and SIGTERM too.</param>
    public Shutdown(CancellationToken commandLineToken)
    {
        _requested = CancellationTokenSource.CreateLinkedTokenSource(commandLineToken);
        _signals =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal),
        ];
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    /// <summary>Cancelled once a stop was requested.</summary>
    public CancellationToken Token => _requested.Token;

    /// <summary>Completes when a stop is requested.</summary>
    public async Task WaitAsync()
    {
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Call after the components have stopped: lets a pending process exit proceed.</summary>
    public void Dispose()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        foreach (var signal in _signals)
            signal.Dispose();
        _stopped.Set();
        _requested.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        // Keep the runtime from terminating the process: the command stops and returns instead.
        context.Cancel = true;
        RequestStop();
    }

    // Raised when something calls Environment.Exit or the runtime is torn down without a signal
    // we handle: the process ends when this handler returns, so wait for the components to stop.
    private void OnProcessExit(object? sender, EventArgs e)
    {
        RequestStop();
        _stopped.Wait(GracePeriod);
    }

    private void RequestStop()
    {
        try
        {
            _requested.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already stopped.
        }
    }
}
