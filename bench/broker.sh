#!/usr/bin/env bash
# Broker benchmark: builds the benchmark in Release (which builds the `tiered` CLI it launches,
# cli/Tiered.Cli/bin/Release), waits until the machine is quiet, then runs it: `tiered standalone`
# as a child process on free ports in a new data directory, driven by the .NET client. Extra
# arguments go to the benchmark, e.g. bash bench/broker.sh --duration 10 --backlog-mb 200
# BENCH_QUIET_WAIT=0 skips the wait; BENCH_QUIET_WAIT=SECONDS changes its limit (default 900).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Tiered.Bench -c Release -nologo -v quiet -nodeReuse:false 1>&2

. bench/wait-quiet.sh
wait_quiet

exec dotnet run -c Release --no-build --project bench/Tiered.Bench -- broker "$@"
