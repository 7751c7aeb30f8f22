#!/usr/bin/env bash
# Installs what the tests, the demo and the benchmarks need, idempotently:
# Debian packages (podman + runc for the container tests, the peers we compare
# against) and the musl Rust target. Safe to run on every `make test`.
set -euo pipefail

PACKAGES=(
    podman runc conmon catatonit containernetworking-plugins netavark aardvark-dns
    golang-github-containers-common busybox-static util-linux procps bash python3 bc debootstrap debian-archive-keyring
    tini dumb-init gosu hyperfine gettext-base
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: apt-get install ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    }
fi

target=x86_64-unknown-linux-musl
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
