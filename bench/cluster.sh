#!/usr/bin/env bash
# Cluster benchmark (issue 13): builds the benchmark in Release (which builds the `tiered` CLI it
# launches), waits until the machine is quiet, then runs `tiered-bench cluster`: metadata nodes,
# 3 bookies and up to 3 `tiered broker` processes on 127.0.0.1, driven by the .NET client with a
# multi-host service URL. Phases: publish throughput with 1, 2 and 3 brokers; Lookup latency of
# owned and fresh bundles; the pause of a bundle unload; failover after kill -9 of an owner (20
# trials); 10,000 topics and the brokers' memory per topic. Prints Markdown on stdout (progress on
# stderr); about 10–15 minutes on 2 cores. Extra arguments go to the benchmark, e.g.
#   bash bench/cluster.sh --failover-trials 3 --many-topics 500 --duration 5     (a short run)
# BENCH_QUIET_WAIT=0 skips the wait; BENCH_QUIET_WAIT=SECONDS changes its limit (default 900).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Tiered.Bench -c Release -nologo -v quiet -nodeReuse:false 1>&2

. bench/wait-quiet.sh
wait_quiet

exec dotnet run -c Release --no-build --project bench/Tiered.Bench -- cluster "$@"
