#!/usr/bin/env bash
# The images of images/ beside plain Debian (docs/benchmarks.md); writes
# bench/images.md. Run as root after `make test-images` (which builds the
# images): `make bench-images`.
#
# 1. Size of each image beside its plain-Debian equivalent: the same
#    packages, installed by the first RUN of each Containerfile on its FROM
#    chain (mooring-nginx's, then its own), on debian:bookworm-slim without
#    mooring (the base's equivalent is debian:bookworm-slim itself).
# 2. `podman stop -t 10` of redis, ready (PONG) and idle, three ways on the
#    same image: under mooring (its init.toml), under `podman run --init`
#    (catatonit as PID 1, redis-server its child) and with redis-server as
#    PID 1. The same redis settings each way (no snapshot on stop).
#
#   BENCH_REPS  stops per way (default 10; median reported, min-max beside)
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${BENCH_REPS:-10}
OUT=bench/images.md
podman() { scripts/podman.sh podman "$@"; }
TMP=$(mktemp -d /tmp/mooring-bench-images.XXXXXX)
NAME=mooring-bench-redis-$$
trap 'podman rm -f -v -t 0 "$NAME" >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT

# Every image of images/ that installs packages (the FROM scratch mooring
# image, the example hello image and images that only add files are left out).
IMAGES=(base postgres redis nginx conference/app portal/app cores/app cores/web launcher)
tag() { echo "localhost/mooring-${1//\//-}:latest"; }
for name in "${IMAGES[@]}"; do
    podman image exists "$(tag "$name")" \
        || { echo "bench: $(tag "$name") is missing: run make test-images" >&2; exit 1; }
done

mb() { podman image inspect --format '{{.Size}}' "$1" | awk '{printf "%.1f", $1 / 1e6}'; }

# The Containerfile's first RUN instruction, continuation lines included.
package_run() {
    awk '/^RUN / {on = 1} on {print} on && !/\\$/ {exit}' "images/$1/Containerfile"
}

# The images/ directories an image is built from, base first: its FROM
# mooring-X chain (mooring-base has no package RUN: Debian slim itself).
chain() {
    local path=$1 from
    from=$(awk '/^FROM / {print $2; exit}' "images/$path/Containerfile")
    case "$from" in mooring-*) chain "${from#mooring-}" ;; esac
    [ "$path" = base ] || echo "$path"
}

sizes() {
    echo "| image | on mooring | plain Debian, same packages | difference |"
    echo "|---|---|---|---|"
    local plain m p dir
    for name in "${IMAGES[@]}"; do
        if [ "$name" = base ]; then
            plain=localhost/debian:bookworm-slim
        else
            # debian:bookworm-slim and the package RUN of each Containerfile
            # on the image's chain, without mooring, configs or app files.
            plain=localhost/mooring-bench-plain-${name//\//-}:latest
            { echo "FROM debian:bookworm-slim"; for dir in $(chain "$name"); do package_run "$dir"; done; } \
                > "$TMP/Containerfile"
            podman build -q -t "$plain" "$TMP" >/dev/null
        fi
        m=$(mb "$(tag "$name")")
        p=$(mb "$plain")
        echo "| $name | $m MB | $p MB | +$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.2f", a - b}') MB |"
    done
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now_ms() { date +%s%3N; }

# One stop: start the container, wait until redis answers, time `podman stop`
# and the container's end (its FinishedAt) from the moment the stop was asked.
# Prints "STOP_MS EXITED_MS CODE".
stop_once() {
    podman run -d --name "$NAME" "$@" >/dev/null 2>"$TMP/run.err" || { cat "$TMP/run.err" >&2; exit 1; }
    local deadline=$(( $(now_ms) + 30000 ))
    until [ "$(podman exec "$NAME" redis-cli ping 2>/dev/null)" = PONG ]; do
        [ "$(now_ms)" -lt "$deadline" ] || { podman logs "$NAME" >&2; exit 1; }
    done
    local t0 t1 finished code
    t0=$(date +%s%N); podman stop -t 10 "$NAME" >/dev/null 2>&1; t1=$(date +%s%N)
    read -r finished code <<<"$(podman inspect -f '{{.State.FinishedAt.UnixNano}} {{.State.ExitCode}}' "$NAME")"
    podman rm -f -v -t 0 "$NAME" >/dev/null 2>&1
    echo "$(( (t1 - t0) / 1000000 )) $(( (finished - t0) / 1000000 )) $code"
}

stops() {
    local image=localhost/mooring-redis:latest
    local plain=(--entrypoint redis-server "$image" --save "" --appendonly no --protected-mode no)
    local -A way=(
        [mooring]="-e REDIS_SAVE= $image"
        ["podman run --init (catatonit)"]="--init ${plain[*]@Q}"
        ["no init (redis-server is PID 1)"]="${plain[*]@Q}"
    )
    echo "| redis, ready and idle | \`podman stop -t 10\` returns: median (min-max) | the container has exited: median (min-max) | exit code |"
    echo "|---|---|---|---|"
    local w r ms exited code codes
    spread() { echo "$(median < "$1") ms ($(sort -n "$1" | head -n1)-$(sort -n "$1" | tail -n1))"; }
    for w in mooring "podman run --init (catatonit)" "no init (redis-server is PID 1)"; do
        : > "$TMP/stop"; : > "$TMP/exited"; codes=""
        for r in $(seq "$REPS"); do
            read -r ms exited code <<<"$(eval "stop_once ${way[$w]}")"
            echo "$ms" >> "$TMP/stop"; echo "$exited" >> "$TMP/exited"
            case " $codes " in *" $code "*) ;; *) codes="${codes:+$codes }$code" ;; esac
        done
        echo "| $w | $(spread "$TMP/stop") | $(spread "$TMP/exited") | $codes |"
    done
}

{
    echo "# images/ beside plain Debian"
    echo
    echo "Measured $(date -u +%Y-%m-%d) by bench/images.sh ($REPS stops per way)."
    echo
    sizes
    echo
    stops
} | tee "$OUT"
