#!/usr/bin/env bash
# `make demo`: init as PID 1 of a fresh PID namespace (what a container gives
# it), driven from outside the way a container engine does. Needs root.
set -euo pipefail
cd "$(dirname "$0")/../.."
INIT=${DEMO_INIT:-$PWD/dist/init}   # tests/demo.rs runs it with cargo's build
DEMO_DIR=$(mktemp -d /tmp/mooring-demo.XXXXXX)
export DEMO_DIR
trap 'kill -KILL $UNSHARE 2>/dev/null || true; rm -rf "$DEMO_DIR"' EXIT

# A clean environment, as a container has: nothing of this host's leaks in.
CLEAN=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DEMO_DIR="$DEMO_DIR" INIT_RUN_DIR="$DEMO_DIR/run"
    ${WEB_PORT:+WEB_PORT=$WEB_PORT})

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
# Starts init as PID 1 in a new PID namespace; sets UNSHARE and PID1 (init's pid outside).
start() {
    rm -f "$DEMO_DIR/ready"
    unshare --pid --fork --mount-proc --kill-child "${CLEAN[@]}" "$INIT" "$@" &
    UNSHARE=$!
    PID1=
    for _ in $(seq 500); do
        PID1=$(cat /proc/$UNSHARE/task/$UNSHARE/children 2>/dev/null | awk '{print $1}')
        [ -n "$PID1" ] && [ -e "$DEMO_DIR/ready" ] && return
        sleep 0.01
    done
    echo "demo: init did not start" >&2; exit 1
}
zombies() {   # zombies among init's descendants, seen from outside
    local n=0 p
    for p in $(ps -o pid= --ppid "$PID1" 2>/dev/null); do
        [ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" = Z ] && n=$((n+1))
    done
    echo $n
}

say "0. Before the workload: init renders the templates of config/demo/init.toml"
echo "s3cret" > "$DEMO_DIR/secret"
"${CLEAN[@]}" APP_PORT=9000 APP_SECRET_FILE="$DEMO_DIR/secret" "$INIT" -c config/demo/init.toml render
echo "  with APP_PORT=9000 and APP_SECRET_FILE=<file>, $DEMO_DIR/app.conf (mode $(stat -c %a "$DEMO_DIR/app.conf")) is:"
sed 's/^/    /' "$DEMO_DIR/app.conf"
echo "  and a missing variable is an error naming file, line and column, with nothing written:"
printf 'x = <<NOT_SET>>\n' > "$DEMO_DIR/bad.tmpl"
printf '[[template]]\nsrc = "%s/bad.tmpl"\ndest = "%s/bad.conf"\n' "$DEMO_DIR" "$DEMO_DIR" > "$DEMO_DIR/bad.toml"
"${CLEAN[@]}" "$INIT" -c "$DEMO_DIR/bad.toml" render 2>&1 | sed 's/^/    /' || true

say "1. init starts as PID 1 of a new PID namespace and runs config/demo/app.sh"
start -c config/demo/init.toml -- config/demo/app.sh
sleep 0.3   # give the orphans time to exit, so there is something to reap
echo "  outside the namespace, init is pid $PID1; zombies left under it: $(zombies)"

say "2. 'docker kill -s USR1': the signal goes to init, which forwards it to the app's process group"
kill -USR1 "$PID1"
sleep 0.3

say "3. 'docker stop': SIGTERM to init; it forwards it and starts its 8 s stop budget"
t0=$(date +%s%N)
kill -TERM "$PID1"
code=0; wait "$UNSHARE" || code=$?
echo "  init exited with code $code (the app's own code) after $(( ($(date +%s%N) - t0) / 1000000 )) ms"

say "4. A workload that ignores SIGTERM, with --stop-timeout 1s"
start --stop-timeout 1s -- config/demo/stubborn.sh
t0=$(date +%s%N)
kill -TERM "$PID1"
code=0; wait "$UNSHARE" || code=$?
echo "  init sent SIGKILL when the budget ran out: exit code $code (128+9) after $(( ($(date +%s%N) - t0) / 1000000 )) ms"

say "5. Service mode (config/demo/services.toml): a oneshot, a database with a semaphore, web after both, a worker"
unshare --pid --fork --mount-proc --kill-child "${CLEAN[@]}" "$INIT" -c config/demo/services.toml &
UNSHARE=$!
in_ns() { nsenter -t "$PID1" -p -m -- "${CLEAN[@]}" "$INIT" "$@"; }
for _ in $(seq 1000); do
    PID1=$(cat /proc/$UNSHARE/task/$UNSHARE/children 2>/dev/null | awk '{print $1}')
    [ -n "$PID1" ] && in_ns ready 2>/dev/null && break
    sleep 0.02
done
echo "  'docker exec … init status' once 'init ready' says 0:"
in_ns status | sed 's/^/    /'
echo "  the database's semaphore, refreshed every heartbeat while it runs:"
sed 's/^/    /' "$DEMO_DIR/db.ready"
echo "  'docker stop': the worker (nothing depends on it) drains first, then web, then db"
kill -TERM "$PID1"
code=0; wait "$UNSHARE" || code=$?
echo "  init exited with code $code (web's: python dies of SIGTERM); semaphore left: $(ls "$DEMO_DIR"/db.ready 2>/dev/null || echo none)"

say "Done. 'make test' proves each of these, in namespaces and in podman containers."
