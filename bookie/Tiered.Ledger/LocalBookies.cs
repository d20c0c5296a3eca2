using System.Collections.Concurrent;
using Grpc.Core;

namespace Tiered.Ledger;

/// <summary>
/// The bookies running in this process, by id, each reachable without the network through its
/// in-process <see cref="CallInvoker"/> (standalone's broker writes to its bookie by reference).
/// A host holds one; bookies add themselves when they start and leave when they stop. Pass
/// <see cref="Invokers"/> as <see cref="LedgerClientOptions.LocalBookies"/>.
/// </summary>
public sealed class LocalBookies
{
    private readonly ConcurrentDictionary<string, CallInvoker> _invokers = new();

    public IReadOnlyDictionary<string, CallInvoker> Invokers => _invokers;

    public void Add(string bookieId, CallInvoker invoker) => _invokers[bookieId] = invoker;

    public void Remove(string bookieId) => _invokers.TryRemove(bookieId, out _);
}
