# Sourced by the benchmark scripts: wait_quiet waits until no test run is going and the machine is
# quiet. BENCH_QUIET_WAIT=0 skips the wait; BENCH_QUIET_WAIT=SECONDS changes its limit (default 900).

# Percentage of all cores busy over the next 5 seconds, from /proc/stat.
busy_percent() {
  local _ u1 n1 s1 i1 w1 q1 sq1 st1 u2 n2 s2 i2 w2 q2 sq2 st2
  read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat
  sleep 5
  read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ < /proc/stat
  local total=$(( (u2 + n2 + s2 + i2 + w2 + q2 + sq2 + st2) - (u1 + n1 + s1 + i1 + w1 + q1 + sq1 + st1) ))
  local idle=$(( (i2 + w2) - (i1 + w1) ))
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}

wait_quiet() {
  local limit waited busy reason
  # Other engineers build and test on the same cores; anything running alongside skews every
  # figure. Wait until no test run is going and the machine is at most 15 % busy.
  limit=${BENCH_QUIET_WAIT:-900}
  waited=0
  while [ "$limit" -gt 0 ]; do
    if ! pgrep -f 'testhost|dotnet test|vstest' >/dev/null; then
      busy=$(busy_percent)
      waited=$((waited + 5))
      [ "$busy" -le 15 ] && break
      reason="machine ${busy} % busy"
    else
      reason="a test run is going"
    fi
    if [ "$waited" -ge "$limit" ]; then
      echo "machine still not quiet after ${waited} s (${reason}); benchmarking anyway (see 'everything else' in the CPU lines)" >&2
      break
    fi
    echo "waiting for the machine to be quiet (${reason}, ${waited} s so far)..." >&2
    sleep 15
    waited=$((waited + 15))
  done
}
