#!/usr/bin/env bash
# Tiered-storage benchmark (issue 6): builds the benchmark in Release (which builds the `tiered` CLI it launches,
# cli/Tiered.Cli/bin/Release), waits until the machine is quiet, then runs it: a metadata node and one bookie as
# processes, s3rver (npm, tests/node: run `npm install` there first), the offloader in the benchmark process. Extra arguments go
# to the benchmark, e.g. bash bench/offload.sh --mb 300 --stores fs --payload text
# BENCH_QUIET_WAIT=0 skips the wait; BENCH_QUIET_WAIT=SECONDS changes its limit (default 900).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Tiered.Bench -c Release -nologo -v quiet -nodeReuse:false 1>&2

. bench/wait-quiet.sh
wait_quiet

exec dotnet run -c Release --no-build --project bench/Tiered.Bench -- offload "$@"
