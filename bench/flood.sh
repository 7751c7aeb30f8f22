#!/usr/bin/env bash
# PID 1 under what other parties can throw at it (docs/security.md, "Queues
# another party feeds"), appended to bench/results.md:
#   1. a notify flood (three senders of 4 KiB datagrams) plus 1 GiB of
#      prefixed service output read by a fast reader: PID 1's peak RSS
#      (SPEC budget: under 4 MiB) and the time from SIGTERM to its exit;
#   2. the same with init's stdout a pipe nobody reads (a stopped log
#      driver): the time from SIGTERM to exit, which must stay within the
#      stop budget, not wait for the reader.
# init runs as PID 1 of a fresh PID namespace (unshare), as in a container.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${BENCH_CLEAN:-}" ] || exec env -i BENCH_CLEAN=1 PATH="$PATH" HOME="${HOME:-/root}" ${BENCH_BYTES:+BENCH_BYTES=$BENCH_BYTES} "$0" "$@"

INIT=$PWD/dist/init
OUT=bench/results.md
TMP=$(mktemp -d /tmp/mooring-bench-flood.XXXXXX)
cleanup() {
    [ -n "${U:-}" ] && kill -9 "$U" 2>/dev/null
    # The namespace's last processes may still be going away.
    rm -rf "$TMP" 2>/dev/null || { sleep 0.5; rm -rf "$TMP"; } || true
}
trap cleanup EXIT
trap "exit 1" INT TERM
[ -z "${BENCH_DEBUG:-}" ] || trap - EXIT
[ -x "$INIT" ] || { echo "bench: dist/init missing (make build)" >&2; exit 1; }
export INIT_LOG=warn INIT_RUN_DIR=$TMP/run

cat >"$TMP/flood.py" <<'EOF'
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
m = b"STATUS=" + b"x" * 4089
while True:
    try:
        s.sendto(m, os.environ["NOTIFY_SOCKET"])
    except OSError:
        pass
EOF
# 1 GiB of 100-byte lines, then the service waits to be stopped.
cat >"$TMP/init.toml" <<EOF
[[service]]
name = "flood"
critical = false
shell = "for i in 1 2 3; do python3 $TMP/flood.py & done; wait"
ready = { notify = true, timeout = "1h" }

[[service]]
name = "talk"
output = "prefix"
stop_timeout = "2s"
shell = "yes $(printf 'x%.0s' $(seq 99)) | head -c ${BENCH_BYTES:-1073741824}; touch $TMP/talked; exec sleep 1000"
EOF

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
now_ms() { date +%s%3N; }

# Starts init with its stdout on $1 (a command reading a pipe); sets U and P.
start() {
    unshare --pid --fork --mount-proc --kill-child "$INIT" -c "$TMP/init.toml" 2>"$TMP/stderr" > >(eval "$1") &
    U=$!
    P=""
    # unshare's children are init and the reader of its stdout (the process
    # substitution is forked before unshare is executed): take init's.
    for _ in $(seq 1000); do
        for c in $(cat /proc/$U/task/$U/children 2>/dev/null); do
            [ "$(readlink /proc/$c/exe 2>/dev/null)" = "$INIT" ] && P=$c
        done
        [ -n "$P" ] && break
        sleep 0.005
    done
}

# SIGTERM to init; prints the milliseconds until it exited.
stop_ms() {
    local t0
    t0=$(now_ms)
    kill -TERM "$P"
    wait "$U" 2>/dev/null || true
    echo $(($(now_ms) - t0))
}

# 1. Flood and 1 GiB through a fast reader.
rm -f "$TMP/talked"
start "cat >/dev/null"
peak=0
t0=$(now_ms)
while [ ! -e "$TMP/talked" ]; do
    r=$(rss_kb "$P")
    [ "${r:-0}" -gt "$peak" ] && peak=$r
    [ $(($(now_ms) - t0)) -gt 600000 ] && { echo "bench: 1 GiB not through in 10 min" >&2; exit 1; }
    sleep 0.05
done
gib_ms=$(($(now_ms) - t0))
fast_stop=$(stop_ms)
U=""

# 2. The same with nobody reading init's stdout.
rm -f "$TMP/talked"
start "sleep 60"
sleep 3
held_peak=$(rss_kb "$P")
held_stop=$(stop_ms)
U=""

{
    echo
    echo "## Floods ($(date -u +%Y-%m-%d), bench/flood.sh)"
    echo
    echo "| what | result | budget |"
    echo "|---|---|---|"
    echo "| PID 1 peak RSS, notify flood + 1 GiB prefixed output | ${peak} kB | < 4096 kB |"
    echo "| 1 GiB of prefixed output through PID 1 | ${gib_ms} ms | |"
    echo "| SIGTERM to exit after the flood (stop budget 2 s for talk) | ${fast_stop} ms | within the budget |"
    echo "| SIGTERM to exit with nobody reading init's stdout | ${held_stop} ms (RSS ${held_peak} kB) | within the budget |"
} | tee -a "$OUT"
