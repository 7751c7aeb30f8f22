#!/usr/bin/env bash
# Reliability figures of service mode (issue #5), appended to bench/results.md:
#   1. 50 services started and stopped CYCLES times (default 100): leaked
#      processes and semaphores counted after every cycle, time per cycle;
#   2. a crash-looping service: init's own CPU over SECONDS (default 30);
#   3. time from SIGTERM to init's exit with 10 services (median of 20);
#   4. PID 1's resident memory supervising the 50 services, all ready
#      (SPEC budget ≤ 1.0 MB).
# 1 runs init as a plain subreaper (not PID 1): a process it failed to stop
# would outlive it there and be counted; 2 and 3 run it as PID 1 of a fresh
# PID namespace (unshare), as in a container.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${BENCH_CLEAN:-}" ] || exec env -i BENCH_CLEAN=1 PATH="$PATH" HOME="${HOME:-/root}" \
    ${BENCH_CYCLES:+BENCH_CYCLES=$BENCH_CYCLES} ${BENCH_SECONDS:+BENCH_SECONDS=$BENCH_SECONDS} "$0" "$@"

CYCLES=${BENCH_CYCLES:-100}
SECONDS_LOOP=${BENCH_SECONDS:-30}
INIT=$PWD/dist/init
OUT=bench/results.md
TMP=$(mktemp -d /tmp/mooring-bench-sv.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
[ -x "$INIT" ] || { echo "bench: dist/init missing (make build)" >&2; exit 1; }
export INIT_LOG=warn INIT_RUN_DIR=$TMP/run
MARK="mooring-bench-$$"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now_ms() { date +%s%3N; }

# A sleep whose name carries $MARK, so that leftovers can be counted.
SLEEP=$TMP/sleep-$MARK
cp "$(command -v sleep)" "$SLEEP"

# N services, each such a sleep, each with a semaphore.
services() {
    local n=$1 i
    for i in $(seq 1 "$n"); do
        printf '[[service]]\nname = "s%d"\ncommand = ["%s", "1000"]\nsemaphore = "%s/sem/s%d.ready"\n\n' \
            "$i" "$SLEEP" "$TMP" "$i"
    done
}

# Starts init on config $1 as PID 1 of a new namespace, or with $2 = direct as a
# plain child; sets U (the pid to wait for) and P (init's pid).
start() {
    if [ "${2:-}" = direct ]; then
        "$INIT" -c "$1" >/dev/null 2>"$TMP/stderr" &
        U=$! P=$!
        return
    fi
    unshare --pid --fork --mount-proc --kill-child "$INIT" -c "$1" >/dev/null 2>"$TMP/stderr" &
    U=$!
    P=""
    for _ in $(seq 1000); do
        P=$(cat /proc/$U/task/$U/children 2>/dev/null | awk '{print $1}')
        [ -n "$P" ] && break
        sleep 0.005
    done
}

wait_semaphores() {   # until $1 semaphores exist
    for _ in $(seq 2000); do
        [ "$(ls "$TMP/sem" 2>/dev/null | wc -l)" -ge "$1" ] && return 0
        sleep 0.005
    done
    echo "bench: semaphores never appeared" >&2; cat "$TMP/stderr" >&2; exit 1
}

# --- 1. 50 services × CYCLES ---------------------------------------------------------
mkdir -p "$TMP/sem"
services 50 > "$TMP/fifty.toml"
leaked_procs=0 leaked_sems=0 bad_codes=0
t0=$(now_ms)
for _ in $(seq "$CYCLES"); do
    start "$TMP/fifty.toml" direct
    wait_semaphores 50
    kill -TERM "$P"
    code=0; wait "$U" || code=$?
    [ "$code" = 143 ] || bad_codes=$((bad_codes + 1))
    leaked_procs=$((leaked_procs + $(pgrep -fc "sleep-$MARK" || true)))
    leaked_sems=$((leaked_sems + $(ls "$TMP/sem" | wc -l)))
    rm -f "$TMP"/sem/*
done
cycle_ms=$(( ($(now_ms) - t0) / CYCLES ))

# --- 2. a crash-looping service: init's CPU --------------------------------------------
cat > "$TMP/crash.toml" <<EOF
[[service]]
name = "main"
command = ["$SLEEP", "1000"]

[[service]]
name = "crasher"
shell = "exit 1"
restart = "always"
critical = false
max_restarts = 1000000
EOF
start "$TMP/crash.toml"
cpu_ns() { awk '{print $1}' /proc/$P/schedstat; }   # on-CPU time, ns
c0=$(cpu_ns); sleep "$SECONDS_LOOP"; c1=$(cpu_ns)
restarts=$(grep -o '"name":"crasher"[^}]*' "$TMP/run/status.json" | sed 's/.*"restarts":\([0-9]*\).*/\1/')
crash_cpu=$(awk -v t=$((c1 - c0)) -v s="$SECONDS_LOOP" 'BEGIN { printf "%.4f", 100 * t / 1e9 / s }')
kill -TERM "$P"; wait "$U" || true

# --- 3. SIGTERM to exit with 10 services -------------------------------------------------
services 10 > "$TMP/ten.toml"
for _ in $(seq 20); do
    rm -f "$TMP"/sem/*
    start "$TMP/ten.toml"
    wait_semaphores 10
    t=$(date +%s%N)
    kill -TERM "$P"; wait "$U" || true
    echo $(( ($(date +%s%N) - t) / 1000 ))
done > "$TMP/stop-us"
stop_ms=$(median < "$TMP/stop-us" | awk '{printf "%.1f", $1 / 1000}')

# --- 4. PID 1's RSS supervising 50 services ------------------------------------------------
rm -f "$TMP"/sem/*
start "$TMP/fifty.toml"
wait_semaphores 50
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$P/status")
kill -TERM "$P"; wait "$U" || true

{
    echo
    echo "### Service mode (bench/supervise.sh, $(date -u +%F))"
    echo
    echo "| measure | result |"
    echo "|---|---|"
    echo "| 50 services started (all ready, 50 semaphores) and stopped, $CYCLES cycles, init not PID 1 | ${cycle_ms} ms per cycle; leaked processes: $leaked_procs, leaked semaphores: $leaked_sems, exit codes other than 143: $bad_codes |"
    echo "| a crash-looping service (exit 1, restart always, default back-off) for ${SECONDS_LOOP} s | init CPU ${crash_cpu} % ($restarts restarts) |"
    echo "| SIGTERM to exit with 10 services (median of 20) | ${stop_ms} ms |"
    echo "| RSS of PID 1 supervising the 50 services, all ready (budget ≤ 1.0 MB) | ${rss_kb} kB |"
} | tee -a "$OUT"
