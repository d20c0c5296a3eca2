#!/usr/bin/env bash
# Messaging features benchmark (issue 17), one run: builds the benchmark in Release (which builds the
# `tiered` CLI it launches), waits until the machine is quiet, then
#   1. `tiered-bench messaging`: Key_Shared vs Shared delivery rate with 4 consumers on one `tiered
#      standalone` (aim: Key_Shared within 20 % of Shared). A topic of 500,000 keyed messages (1,000
#      keys, 100 B) is drained by 4 consumers of a new subscription, Shared and Key_Shared alternating,
#      for two producer shapes: "mixed" (keys in turn, so every batch is split among the consumers) and
#      "by key" (runs of one key, as a key-based batcher sends them). About 1–2 minutes.
#   2. bench/delayed-memory.sh: the delayed-delivery tracker's memory holding 1,000,000 delayed messages
#      (aim: under 64 MB), the broker's tracker class filled directly.
# Markdown on stdout, progress on stderr. Extra arguments go to `tiered-bench messaging`, e.g.
#   bash bench/messaging.sh --messages 50000 --rounds 1        (a short run)
# BENCH_QUIET_WAIT=0 skips the wait; BENCH_QUIET_WAIT=SECONDS changes its limit (default 900).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Tiered.Bench -c Release -nologo -v quiet -nodeReuse:false 1>&2
dotnet build bench/Tiered.Bench.DelayedMemory -c Release -nologo -v quiet -nodeReuse:false 1>&2

. bench/wait-quiet.sh
wait_quiet

bench() { dotnet run -c Release --no-build --project bench/Tiered.Bench -- "$@"; }

echo "## Key_Shared vs Shared delivery rate"
echo
bench messaging "$@"

echo
echo "## Delayed-delivery tracker memory (1,000,000 delayed messages)"
echo
bash bench/delayed-memory.sh
