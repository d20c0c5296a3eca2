using Google.Protobuf;
using Tiered.Metadata.V1;

namespace Tiered.Metadata.Raft;

/// <summary>One command waiting for its Raft entry to be committed and applied.</summary>
internal sealed class PendingCommand(Command command)
{
    private readonly TaskCompletionSource<IMessage> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Command Command { get; } = command;

    public Task<IMessage> Task => _completion.Task;

    public void Complete(IMessage? result, MetadataException? error)
    {
        if (error is not null)
            _completion.TrySetException(error);
        else
            _completion.TrySetResult(result!);
    }
}

/// <summary>The commands that share one Raft entry (group commit); passed to the state machine as the entry's context.</summary>
internal sealed class ProposedBatch(List<PendingCommand> commands)
{
    public List<PendingCommand> Commands { get; } = commands;

    public void Complete(int index, IMessage? result, MetadataException? error)
    {
        if (index < Commands.Count)
            Commands[index].Complete(result, error);
    }

    public void FailAll(MetadataException error)
    {
        foreach (var command in Commands)
            command.Complete(null, error);
    }
}
