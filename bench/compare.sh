#!/usr/bin/env bash
# Side-by-side benchmark (issue 5): Tiered standalone, NATS JetStream and RabbitMQ (quorum queue and
# stream queue), the same workloads against each, one table on stdout (progress on stderr).
# Installs the peers with apt-get if missing (Debian nats-server, rabbitmq-server; neither is started
# as a service here), builds the benchmark and the `tiered` CLI in Release, waits until the machine is
# quiet, then runs `tiered-bench compare`, which starts each server in turn as a child process on
# 127.0.0.1 with its data on the probed disk and stops it by PID before the next. Not part of ./test.sh.
# Extra arguments go to the benchmark, e.g.
#   bash bench/compare.sh --duration 5 --catchup-messages 200000 --systems tiered,nats
# BENCH_QUIET_WAIT=0 skips the wait; BENCH_QUIET_WAIT=SECONDS changes its limit (default 900).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v nats-server >/dev/null || missing+=(nats-server)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]} with apt-get..." >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq 1>&2
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" 1>&2
fi
echo "peers: $(nats-server --version), rabbitmq-server $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo '?')" >&2

dotnet build bench/Tiered.Bench -c Release -nologo -v quiet -nodeReuse:false 1>&2

. bench/wait-quiet.sh
wait_quiet

# The benchmark stops every server it started (by PID) when it ends or is interrupted; forward
# Ctrl-C and TERM to it as TERM (a background job of a script ignores SIGINT) and wait, so that it can.
dotnet bench/Tiered.Bench/bin/Release/net10.0/tiered-bench.dll compare "$@" &
bench_pid=$!
trap 'kill -TERM "$bench_pid" 2>/dev/null; wait "$bench_pid"' INT TERM
wait "$bench_pid"
