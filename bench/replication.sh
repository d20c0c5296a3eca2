#!/usr/bin/env bash
# Geo-replication benchmark: builds the benchmark in Release (which builds the `tiered` CLI it
# launches), waits until the machine is quiet, then runs `tiered-bench replication`: two
# `tiered standalone --cluster-name a|b` processes on loopback (new data directories), configured
# through their admin APIs to replicate one namespace both ways, one producer in a and one consumer
# in b. Throughput phase: 1 KB batched messages as fast as one producer goes; a's publish msg/s and
# MB/s and b's arrival msg/s and MB/s over the same window, b's last message after a's last receipt,
# and a's replicator stats (msgOutCounter, msgRateOut, replicationBacklog). Lag phase: paced at half
# that publish rate; send in a → delivery in b p50/p99/max. Every receipted message is checked to
# arrive in b once (lost, duplicated). Prints Markdown on stdout (progress on stderr) with the disk's
# fsync/s and MB/s from the same run. Aims: b keeps up with the full rate; lag p99 under 50 ms at
# half load. About 1 minute after the wait with the defaults (--duration 20 --warmup 5). Extra
# arguments go to the benchmark, e.g.
#   bash bench/replication.sh --duration 3 --warmup 1        (a short run)
#   bash bench/replication.sh --lag-rate 5000                (the lag phase at a given rate)
# BENCH_QUIET_WAIT=0 skips the wait; BENCH_QUIET_WAIT=SECONDS changes its limit (default 900).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Tiered.Bench -c Release -nologo -v quiet -nodeReuse:false 1>&2

. bench/wait-quiet.sh
wait_quiet

exec dotnet run -c Release --no-build --project bench/Tiered.Bench -- replication "$@"
