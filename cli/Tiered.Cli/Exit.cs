namespace Tiered.Cli;

/// <summary>Exit codes of the commands, and the one-line "error: ..." they print on stderr.</summary>
internal static class Exit
{
    public const int Ok = 0;

    /// <summary>Something failed at run time: a port in use, an unreadable data directory, no leader elected.</summary>
    public const int Failed = 1;

    /// <summary>An option has a bad value; nothing was started.</summary>
    public const int BadOptions = 2;

    public static int Error(int code, string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return code;
    }
}
