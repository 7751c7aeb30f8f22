#!/usr/bin/env bash
# Live reload figures (issue #13), appended to bench/results.md: init as PID
# 1 of a fresh PID namespace with 10 services and 100 watched template
# sources (ten ConfigMap-style directories of ten files each);
#   1. while nothing changes, for IDLE seconds (default 30): init's wake-ups
#      (context switches, /proc/PID/status) and CPU time (/proc/PID/stat);
#   2. SWAPS times (default 20) a ConfigMap `..data` swap: the time from the
#      rename to the reloaded service's SIGHUP trap (median, max).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${BENCH_CLEAN:-}" ] || exec env -i BENCH_CLEAN=1 PATH="$PATH" HOME="${HOME:-/root}" \
    ${BENCH_IDLE:+BENCH_IDLE=$BENCH_IDLE} ${BENCH_SWAPS:+BENCH_SWAPS=$BENCH_SWAPS} "$0" "$@"
IDLE=${BENCH_IDLE:-30}
SWAPS=${BENCH_SWAPS:-20}
INIT=$PWD/dist/init
OUT=bench/results.md
TMP=$(mktemp -d /var/tmp/mooring-bench-reload.XXXXXX)
# init is stopped as a container engine does it: SIGTERM to PID 1, then wait.
trap 'kill "${PID:-0}" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
[ -x "$INIT" ] || { echo "bench: dist/init missing (make build)" >&2; exit 1; }

python3 - "$TMP" <<'PY'
import os, sys
d = sys.argv[1]
cfg = []
for c in range(10):
    cm = f"{d}/cm{c}"
    os.makedirs(f"{cm}/..v0"); os.makedirs(f"{d}/out{c}")
    for f in range(10):
        open(f"{cm}/..v0/f{f}.conf", "w").write(f"value <<V:-0>> {c} {f}\n")
        os.symlink(f"..data/f{f}.conf", f"{cm}/f{f}.conf")
    os.symlink("..v0", f"{cm}/..data")
    cfg.append(f'[[template]]\nsrc = "{cm}"\ndest = "{d}/out{c}"\nnotify = ["s0"]\n')
for s in range(10):
    trap = f"trap 'date +%s%N >> {d}/hups' HUP; " if s == 0 else ""
    cfg.append(f'[[service]]\nname = "s{s}"\nshell = "{trap}while :; do sleep 3600 & wait; done"\n'
               + ('reload_signal = "SIGHUP"\n' if s == 0 else ""))
open(f"{d}/init.toml", "w").write("\n".join(cfg))
PY
INIT_LOG=warn INIT_RUN_DIR=$TMP/run unshare --pid --fork --mount-proc --kill-child "$INIT" -c "$TMP/init.toml" &
UNSHARE=$!
PID=
for _ in $(seq 100); do PID=$(cat /proc/$UNSHARE/task/$UNSHARE/children 2>/dev/null | tr -d ' '); [ -n "$PID" ] && break; sleep 0.05; done
for _ in $(seq 100); do [ -S "$TMP/run/control.sock" ] && break; sleep 0.05; done
sleep 1
switches() { awk '/ctxt_switches/ {s += $2} END {print s}' /proc/$PID/status; }
cpu_ticks() { awk '{print $14 + $15}' /proc/$PID/stat; }
s0=$(switches); c0=$(cpu_ticks)
sleep "$IDLE"
s1=$(switches); c1=$(cpu_ticks)
WAKES_PER_MIN=$(awk -v a="$s0" -v b="$s1" -v t="$IDLE" 'BEGIN { printf "%.1f", (b - a) * 60 / t }')
CPU_MS=$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%d", (b - a) * 1000 / hz }')

lat=()
touch "$TMP/hups"
for i in $(seq "$SWAPS"); do
    before=$(wc -l < "$TMP/hups")
    cm=$TMP/cm$((i % 10))
    mkdir "$cm/..v$i"
    for f in $(seq 0 9); do echo "value <<V:-$i>> $f" > "$cm/..v$i/f$f.conf"; done
    ln -s "..v$i" "$cm/..data_tmp"
    t0=$(date +%s%N); mv -T "$cm/..data_tmp" "$cm/..data"
    for _ in $(seq 500); do [ "$(wc -l < "$TMP/hups")" -gt "$before" ] && break; sleep 0.01; done
    t1=$(tail -n 1 "$TMP/hups")
    lat+=($(( (t1 - t0) / 1000000 )))
done
LAT_MEDIAN=$(printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
LAT_MAX=$(printf '%s\n' "${lat[@]}" | sort -n | tail -n 1)
HUPS=$(wc -l < "$TMP/hups")

{
    echo
    echo "## Live reload ($(date -u +%Y-%m-%d), $(nproc) cores)"
    echo
    echo "| measure | value | budget |"
    echo "|---|---|---|"
    echo "| idle, 10 services, 100 watched sources: init's wake-ups per minute | $WAKES_PER_MIN | ≤ heartbeats + 1 (no heartbeats here: ≤ 1) |"
    echo "| idle: init's CPU over ${IDLE} s | ${CPU_MS} ms | – |"
    echo "| ConfigMap swap → the service's SIGHUP, median / max of $SWAPS | ${LAT_MEDIAN} ms / ${LAT_MAX} ms | – (100 ms of it is the settle time) |"
    echo "| SIGHUPs for $SWAPS swaps | $HUPS | $SWAPS |"
} | tee -a "$OUT"
