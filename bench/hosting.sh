#!/usr/bin/env bash
# What the one-host-per-process layer (issue 12) costs, in one run: builds `tiered` from the tree
# before the change (BEFORE_REV, default 51a9c40) in a temporary worktree and from this tree,
# waits until the machine is quiet, then measures (1) start-up time and resident memory of
# `tiered standalone` from each build, alternating, (2) the cost of a /metrics scrape with 1,000
# topics, and (3) publish throughput and latency of each build with `tiered-bench broker` (batched
# with 1 producer, unbatched), ROUNDS times in the order before-after, after-before, … so that a
# drift of the machine falls on both. Reports Markdown on stdout.
# BENCH_QUIET_WAIT=0 skips the wait for a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
before_rev=${BEFORE_REV:-51a9c40}
duration=${DURATION:-10}
rounds=${ROUNDS:-2}
tree=$(mktemp -d "${TMPDIR:-/tmp}/tiered-before.XXXXXX")
cleanup() { git worktree remove --force "$tree" >/dev/null 2>&1 || rm -rf "$tree"; }
trap cleanup EXIT
git worktree add -q --detach "$tree" "$before_rev"
dotnet build "$tree/cli/Tiered.Cli" -c Release -nologo -v quiet -nodeReuse:false 1>&2
dotnet build bench/Tiered.Bench -c Release -nologo -v quiet -nodeReuse:false 1>&2
before_dll="$tree/cli/Tiered.Cli/bin/Release/net10.0/tiered.dll"
after_dll="$PWD/cli/Tiered.Cli/bin/Release/net10.0/tiered.dll"

. bench/wait-quiet.sh
wait_quiet

echo "## Start-up, memory and /metrics (before: $before_rev, after: $(git rev-parse --short HEAD))"
dotnet run -c Release --no-build --project bench/Tiered.Bench -- hosting --before "$before_dll" --after "$after_dll"
for round in $(seq 1 "$rounds"); do
    order="before after"; [ $((round % 2)) -eq 0 ] && order="after before"
    for build in $order; do
        dll=$before_dll; [ "$build" = after ] && dll=$after_dll
        echo
        echo "## Publishing, round $round, $build"
        TIERED_CLI=$dll dotnet run -c Release --no-build --project bench/Tiered.Bench -- broker \
            --phases batched,unbatched --producers 1 --duration "$duration" --warmup 3
    done
done
