#!/usr/bin/env bash
# The images of the deployments images/cores and images/launcher beside
# plain Debian (bench/images.sh does the same for base, postgres, redis and
# nginx): each image's size beside the same packages installed on
# debian:bookworm-slim without mooring. The plain equivalent of an image is
# FROM debian:bookworm-slim plus the first RUN of every Containerfile on its
# FROM chain (mooring-nginx's, then its own). Run as root after
# `cargo test --test images cores launcher` built the images; prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
podman() { scripts/podman.sh podman "$@"; }
TMP=$(mktemp -d /tmp/mooring-bench-deploy.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# The Containerfile's first RUN instruction, continuation lines included.
package_run() {
    awk '/^RUN / {on = 1} on {print} on && !/\\$/ {exit}' "images/$1/Containerfile"
}
mb() { podman image inspect --format '{{.Size}}' "$1" | awk '{printf "%.1f", $1 / 1e6}'; }

echo "| image | on mooring | plain Debian, same packages | difference |"
echo "|---|---|---|---|"
# image path, then the images/ directories whose first RUN the plain one repeats
for entry in "cores/app:cores/app" "cores/web:nginx cores/web" "launcher:nginx launcher"; do
    path=${entry%%:*}
    name=${path//\//-}
    plain=localhost/mooring-bench-plain-$name:latest
    {
        echo "FROM debian:bookworm-slim"
        for dir in ${entry#*:}; do package_run "$dir"; done
    } > "$TMP/Containerfile"
    podman build -q -t "$plain" "$TMP" >/dev/null
    m=$(mb "localhost/mooring-$name:latest")
    p=$(mb "$plain")
    echo "| $name | $m MB | $p MB ($plain) | +$(awk -v a="$m" -v b="$p" 'BEGIN {printf "%.2f", a - b}') MB |"
done
