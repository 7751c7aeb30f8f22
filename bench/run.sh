#!/usr/bin/env bash
# mooring against its peers, side by side in one run (docs/benchmarks.md).
# Peers come from Debian's packages: tini / tini-static, dumb-init, catatonit.
# Prints a Markdown table of absolute numbers and ratios and writes it to
# bench/results.md. Run as root (PID namespaces, podman): `make bench`.
#
#   BENCH_RUNS    hyperfine runs per command for the /bin/true start-up (default 300)
#   BENCH_REPS    repetitions of the reaping and podman measurements (default 5; median reported)
#   BENCH_ORPHANS orphans per reaping run (default 3000)
set -euo pipefail
cd "$(dirname "$0")/.."
# Measure in a clean environment, as in a container (no host *_FILE variables etc.).
[ -n "${BENCH_CLEAN:-}" ] || exec env -i BENCH_CLEAN=1 PATH="$PATH" HOME="${HOME:-/root}" \
    ${BENCH_RUNS:+BENCH_RUNS=$BENCH_RUNS} ${BENCH_REPS:+BENCH_REPS=$BENCH_REPS} \
    ${BENCH_ORPHANS:+BENCH_ORPHANS=$BENCH_ORPHANS} "$0" "$@"

RUNS=${BENCH_RUNS:-300}
REPS=${BENCH_REPS:-5}
ORPHANS=${BENCH_ORPHANS:-3000}
INIT=$PWD/dist/init
OUT=bench/results.md
TMP=$(mktemp -d /tmp/mooring-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
[ -x "$INIT" ] || { echo "bench: dist/init missing (make build)" >&2; exit 1; }

# name | command prefix that runs "$@" as its child
declare -A PEER=(
    [mooring]="$INIT -q --"
    [tini]="/usr/bin/tini-static -s --"
    [dumb-init]="/usr/bin/dumb-init"
    [catatonit]="/usr/bin/catatonit --"
)
ORDER=(mooring tini dumb-init catatonit)
export INIT_LOG=warn   # init's INFO lines are for people; the peers print nothing either

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# hyperfine_ms JSON K: the median of hyperfine's K-th command in JSON, in whole ms.
hyperfine_ms() { python3 -c "import json; print('%.0f' % (json.load(open('$1'))['results'][$2]['median']*1000))"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# --- 1. binary size -------------------------------------------------------------
size_of() { stat -c %s "$1"; }
declare -A SIZE=(
    [mooring]=$(size_of "$INIT")
    [tini]=$(size_of /usr/bin/tini-static)
    [dumb-init]=$(size_of /usr/bin/dumb-init)
    [catatonit]=$(size_of /usr/bin/catatonit)
)

# --- 2. RSS of PID 1 supervising sleep ------------------------------------------
rss_as_pid1() {   # prints VmRSS (kB) of the peer as PID 1 of a new namespace
    local pre=$1 u pid
    unshare --pid --fork --mount-proc --kill-child $pre /bin/sleep 1000 &
    u=$!
    for _ in $(seq 500); do
        pid=$(cat /proc/$u/task/$u/children 2>/dev/null | awk '{print $1}')
        [ -n "$pid" ] && [ -n "$(cat /proc/$pid/task/$pid/children 2>/dev/null)" ] && break
        sleep 0.01
    done
    # the child is running: init is in its steady state
    awk '/^VmRSS/ {print $2}' /proc/$pid/status
    kill -KILL $u; wait $u 2>/dev/null || true
}
declare -A RSS
for p in "${ORDER[@]}"; do RSS[$p]=$(rss_as_pid1 "${PEER[$p]}"); done

# --- 3. start-up: X -- /bin/true -------------------------------------------------
declare -A TRUE_MS
cmds=(); for p in "${ORDER[@]}"; do cmds+=("${PEER[$p]} /bin/true"); done
hyperfine -N -w 20 -r "$RUNS" --export-json "$TMP/true.json" "${cmds[@]}" >/dev/null 2>&1
i=0
for p in "${ORDER[@]}"; do
    TRUE_MS[$p]=$(python3 -c "import json,sys; r=json.load(open('$TMP/true.json'))['results'][$i]; print('%.3f' % (r['median']*1000))")
    i=$((i+1))
done

# --- 4. PID 1's own CPU time reaping a burst of orphans ----------------------------
# The child makes $ORPHANS orphans, waits until none is a zombie, then reads
# PID 1's cumulative on-CPU time (first field of /proc/1/schedstat, ns).
# The same run with 0 orphans is subtracted: what is left is the reaping,
# not the peer's start-up (exec, page faults of its binary) or the script.
burst() {   # burst N -> the script making N orphans
    echo 'i=0; while [ $i -lt '"$1"' ]; do (: &); i=$((i+1)); done
while grep -qs "^State:.*Z" /proc/[0-9]*/status; do sleep 0.02; done
cut -d" " -f1 /proc/1/schedstat'
}
# The peers alternate run by run (a change in load between blocks of runs
# would count against one peer), twice the runs of the other rows.
declare -A REAP_MS
for _ in $(seq $((REPS * 2))); do
    for p in "${ORDER[@]}"; do
        for n in "$ORPHANS" 0; do
            unshare --pid --fork --mount-proc --kill-child ${PEER[$p]} /bin/sh -c "$(burst "$n")" \
                | awk '{print $1/1e6}' >> "$TMP/reap.$p.$n"
        done
    done
done
for p in "${ORDER[@]}"; do
    a=$(median < "$TMP/reap.$p.$ORPHANS"); b=$(median < "$TMP/reap.$p.0")
    REAP_MS[$p]=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", a - b }')
done

# --- 5. podman stop of a container whose command exits on SIGTERM -----------------
declare -A STOP_MS
if scripts/podman.sh setup >/dev/null 2>&1; then
    ctx="$TMP/img"; mkdir -p "$ctx"
    cp "$INIT" "$ctx/init"; cp /usr/bin/tini-static "$ctx/tini"
    printf 'FROM localhost/mooring-busybox:base\nCOPY init /init\nCOPY tini /tini\n' > "$ctx/Containerfile"
    scripts/podman.sh podman build -q -t localhost/mooring-bench "$ctx" >/dev/null
    stop_once() {   # entrypoint, run number -> ms of `podman stop -t 10`
        local name=mooring-bench-$$-$2
        scripts/podman.sh podman run -d --name "$name" --entrypoint "$1" localhost/mooring-bench \
            -- sleep 1000 >/dev/null
        scripts/podman.sh podman exec "$name" true   # running
        local t0 t1; t0=$(date +%s%N)
        scripts/podman.sh podman stop -t 10 "$name" >/dev/null
        t1=$(date +%s%N)
        scripts/podman.sh podman rm -f "$name" >/dev/null
        echo $(( (t1 - t0) / 1000000 ))
    }
    # Alternated run by run, so that a change in the machine's load between
    # two blocks of runs is not counted against one of them; six times the
    # runs of the other rows: a stop takes either ~90-120 or ~170-190 ms
    # here (podman's own wait), whatever the init, and with 15 runs the
    # median could fall in either group for one init and not the other.
    # Which goes first alternates too. A stop is fast when the container has
    # exited before podman first looks (it then looks every 100 ms): the
    # count of fast stops is what an init's speed of exit can change.
    for r in $(seq $((REPS * 6))); do
        if [ $((r % 2)) = 1 ]; then
            stop_once /init "$r" >> "$TMP/stop.mooring"; stop_once /tini "$r" >> "$TMP/stop.tini"
        else
            stop_once /tini "$r" >> "$TMP/stop.tini"; stop_once /init "$r" >> "$TMP/stop.mooring"
        fi
    done
    STOP_MS[mooring]=$(median < "$TMP/stop.mooring")
    STOP_MS[tini]=$(median < "$TMP/stop.tini")
    fast() { awk '$1 < 140' "$TMP/stop.$1" | wc -l; }
    STOP_FAST="fast (< 140 ms) $(fast mooring) and $(fast tini) of $((REPS * 6))"
    scripts/podman.sh podman rmi -f localhost/mooring-bench >/dev/null 2>&1 || true
fi

# --- 6. rendering 1,000 templates of 100 lines vs one envsubst per file ------------
# The same text in both syntaxes; envsubst is limited to the three variables so
# that nginx-style $vars pass through as they do with init. On tmpfs: this VM's
# ext4 is mounted with `discard`, which makes replacing 1,000 files cost
# ~0.7 ms each for both tools and would measure the disk, not the tools.
tdir=$(mktemp -d /dev/shm/mooring-bench-tpl.XXXXXX); mkdir -p "$tdir/src" "$tdir/out" "$tdir/env"
python3 - "$tdir" <<'PY'
import sys
d = sys.argv[1]
cfg = []
for i in range(1000):
    ours = [f"line {j}: host=<<DB_HOST>> port=<<DB_PORT>> root=$document_root user=<<APP_USER>>" for j in range(100)]
    theirs = [f"line {j}: host=${{DB_HOST}} port=${{DB_PORT}} root=$document_root user=${{APP_USER}}" for j in range(100)]
    open(f"{d}/src/t{i}.conf", "w").write("\n".join(ours) + "\n")
    open(f"{d}/env/t{i}.conf", "w").write("\n".join(theirs) + "\n")
    cfg.append(f'[[template]]\nsrc = "src/t{i}.conf"\ndest = "{d}/out/t{i}.conf"\n')
open(f"{d}/init.toml", "w").write("\n".join(cfg))
PY
export DB_HOST=db DB_PORT=5432 APP_USER=app
cat > "$tdir/envsubst.sh" <<SH
for i in \$(seq 0 999); do
    envsubst '\$DB_HOST \$DB_PORT \$APP_USER' < $tdir/env/t\$i.conf > $tdir/out/e\$i.conf
done
SH
# Every run of init renders afresh (its outputs are removed first: an
# unchanged destination is not rewritten, which is measured next).
hyperfine -w 1 -r "$REPS" --export-json "$TMP/render.json" \
    --command-name init --prepare "rm -f $tdir/out/t*.conf" "$INIT -q -c $tdir/init.toml render" \
    --command-name envsubst --prepare true "sh $tdir/envsubst.sh" >/dev/null 2>&1
RENDER_MS=$(hyperfine_ms "$TMP/render.json" 0)
ENVSUBST_MS=$(hyperfine_ms "$TMP/render.json" 1)
cmp -s "$tdir/out/t7.conf" "$tdir/out/e7.conf" || { echo "bench: init and envsubst rendered differently" >&2; exit 1; }

# --- 6b. the same 1,000 templates re-rendered unchanged, on disk (ext4) ---------------
# A container restarted with the same configuration: init finds every
# destination as it would write it and writes nothing; envsubst rewrites them.
ddir=$(mktemp -d /var/tmp/mooring-bench-tpl.XXXXXX)
cp -r "$tdir/src" "$tdir/env" "$ddir/"; mkdir -p "$ddir/out"
sed "s|$tdir/out|$ddir/out|" "$tdir/init.toml" > "$ddir/init.toml"
sed "s|$tdir|$ddir|g" "$tdir/envsubst.sh" > "$ddir/envsubst.sh"
"$INIT" -q -c "$ddir/init.toml" render
hyperfine -w 1 -r "$REPS" --export-json "$TMP/rerender.json" \
    "$INIT -q -c $ddir/init.toml render" "sh $ddir/envsubst.sh" >/dev/null 2>&1
RERENDER_MS=$(hyperfine_ms "$TMP/rerender.json" 0)
RE_ENVSUBST_MS=$(hyperfine_ms "$TMP/rerender.json" 1)
rm -rf "$ddir"

# --- 7. chown of a 100,000-entry volume vs `find ! -user -exec chown +` and `chown -R` ---
# On disk (/var/tmp), 100 directories of 1,000 files. "needing it": every entry
# is root's and goes to 1000:1000 (reset before each run); "already owned":
# nothing to change. init runs its volume phase then /bin/true.
vdir=$(mktemp -d /var/tmp/mooring-bench-vol.XXXXXX)
trap 'rm -rf "$TMP" "$vdir" "$tdir" "${ddir:-}"' EXIT
python3 - "$vdir/tree" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    p = f"{root}/d{d}"
    os.makedirs(p)
    for f in range(1000):
        open(f"{p}/f{f}", "w").close()
PY
printf '[[volume]]\npath = "%s/tree"\nowner = "1000:1000"\n' "$vdir" > "$vdir/init.toml"
# The idiom of the official postgres image's entrypoint, and plain chown -R.
FIND="find $vdir/tree ! -user 1000 -exec chown 1000:1000 {} +"
hyperfine -w 1 -r "$REPS" --export-json "$TMP/chown.json" --prepare "chown -R 0:0 $vdir/tree" \
    "$INIT -q -c $vdir/init.toml -- /bin/true" "chown -R 1000:1000 $vdir/tree" "$FIND" >/dev/null 2>&1
chown -R 1000:1000 "$vdir/tree"
hyperfine -w 1 -r "$REPS" --export-json "$TMP/owned.json" \
    "$INIT -q -c $vdir/init.toml -- /bin/true" "chown -R 1000:1000 $vdir/tree" "$FIND" >/dev/null 2>&1
CHOWN_INIT=$(hyperfine_ms "$TMP/chown.json" 0); CHOWN_R=$(hyperfine_ms "$TMP/chown.json" 1); CHOWN_FIND=$(hyperfine_ms "$TMP/chown.json" 2)
OWNED_INIT=$(hyperfine_ms "$TMP/owned.json" 0); OWNED_R=$(hyperfine_ms "$TMP/owned.json" 1); OWNED_FIND=$(hyperfine_ms "$TMP/owned.json" 2)
[ "$(stat -c %u:%g "$vdir/tree/d7/f7")" = 1000:1000 ] || { echo "bench: init did not chown the tree" >&2; exit 1; }

# --- report ------------------------------------------------------------------------
{
    echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $(uname -r); peers from Debian packages."
    echo "start-up: hyperfine median of $RUNS runs; reaping: median of $((REPS * 2)) runs of $ORPHANS orphans, peers alternated; podman stop: median of $((REPS * 6)) runs, alternated; ratios are mooring / peer."
    echo
    echo "| measure | mooring | tini(-static) | dumb-init | catatonit | mooring/tini | budget |"
    echo "|---|---|---|---|---|---|---|"
    row() {   # label unit key-array budget
        local label=$1 unit=$2 budget=$4; local -n arr=$3
        printf '| %s | %s%s | %s%s | %s%s | %s%s | %s× | %s |\n' "$label" \
            "${arr[mooring]}" "$unit" "${arr[tini]}" "$unit" "${arr[dumb-init]}" "$unit" "${arr[catatonit]}" "$unit" \
            "$(ratio "${arr[mooring]}" "${arr[tini]}")" "$budget"
    }
    row "static binary size" " B" SIZE "≤ 1.0 MB"
    row "RSS as PID 1 supervising sleep" " kB" RSS "≤ 0.8× tini-static"
    row "\`X -- /bin/true\` wall time" " ms" TRUE_MS "≤ 1.1× tini"
    row "PID 1 CPU to reap $ORPHANS orphans (minus a 0-orphan run)" " ms" REAP_MS "≤ 1.1× tini"
    if [ -n "${STOP_MS[mooring]:-}" ]; then
        printf '| `podman stop` (service exits on SIGTERM) | %s ms | %s ms | – | – | %s× (%s) | ≤ 1.1× tini |\n' \
            "${STOP_MS[mooring]}" "${STOP_MS[tini]}" "$(ratio "${STOP_MS[mooring]}" "${STOP_MS[tini]}")" "$STOP_FAST"
    fi
    printf '| render 1,000 templates × 100 lines | %s ms | – | – | – | %s× one `envsubst` per file (%s ms) | ≤ 0.2× |\n' \
        "$RENDER_MS" "$(ratio "$RENDER_MS" "$ENVSUBST_MS")" "$ENVSUBST_MS"
    printf '| re-render the same 1,000, unchanged, on ext4 | %s ms | – | – | – | %s× one `envsubst` per file (%s ms) | ≤ 0.1× |\n' \
        "$RERENDER_MS" "$(ratio "$RERENDER_MS" "$RE_ENVSUBST_MS")" "$RE_ENVSUBST_MS"
    printf '| chown 100,000 entries needing it | %s ms | – | – | – | %s× `find ! -user -exec chown +` (%s ms), %s× `chown -R` (%s ms) | ≤ 0.4× find, ≤ 0.8× chown -R |\n' \
        "$CHOWN_INIT" "$(ratio "$CHOWN_INIT" "$CHOWN_FIND")" "$CHOWN_FIND" "$(ratio "$CHOWN_INIT" "$CHOWN_R")" "$CHOWN_R"
    printf '| the same tree already owned | %s ms | – | – | – | %s× find (%s ms), %s× `chown -R` (%s ms) | ≤ 0.5× find, ≤ 0.35× chown -R |\n' \
        "$OWNED_INIT" "$(ratio "$OWNED_INIT" "$OWNED_FIND")" "$OWNED_FIND" "$(ratio "$OWNED_INIT" "$OWNED_R")" "$OWNED_R"
    echo
    echo "dumb-init is Debian's dynamically linked build (its static size is not comparable); tini column: tini-static."
} | tee "$OUT"
