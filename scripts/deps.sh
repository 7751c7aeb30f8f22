#!/usr/bin/env bash
# Installs what the tests, the demo and the benchmarks need, idempotently:
# Debian packages (podman + runc for the container tests, the Docker Engine and
# docker-compose for the deployments, the peers we compare
# against, qemu-user for dist/init-aarch64) and the musl Rust target. Safe to
# run on every `make test`.
set -euo pipefail

PACKAGES=(
    podman runc conmon catatonit containernetworking-plugins netavark aardvark-dns
    golang-github-containers-common busybox-static util-linux procps bash python3 bc debootstrap debian-archive-keyring
    tini dumb-init gosu hyperfine gettext-base qemu-user-static curl openssl python3-venv strace
    # make release's checks: lintian on the Debian packages, skopeo on the OCI archive.
    lintian skopeo
    # The Docker Engine (20.10, with containerd and runc) and Debian's docker-compose 1.29:
    # tests/images starts a dockerd of its own (tests/images/docker.rs); nothing here starts one.
    docker.io docker-compose
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

# `make test-aarch64` execs dist/init-aarch64 like a native binary: binfmt_misc
# hands it to Debian's qemu-aarch64, registered with the package's own line
# (flag F: the emulator is opened now, so it also runs in other mount
# namespaces and chroots). No init system here registers it for us.
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/qemu-aarch64" ]; then
    [ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null \
        || { echo "deps: cannot mount binfmt_misc on $binfmt (needed to run dist/init-aarch64 under qemu)" >&2; exit 1; }
    cat /usr/lib/binfmt.d/qemu-aarch64.conf > "$binfmt/register"
fi

# The deployments of images/ are brought up with their compose files by
# podman-compose, pinned, from PyPI (Debian's 1.0.3 fails on compose files of
# today), in a virtual environment beside mooring's podman store:
# `scripts/podman.sh compose ARGS` runs it against that store.
compose_venv=${MOORING_PODMAN_DIR:-/var/tmp/mooring-podman}/venv
PODMAN_COMPOSE=podman-compose==1.6.0
if [ "$("$compose_venv/bin/podman-compose" --version 2>/dev/null | sed -n 's/^podman-compose version //p')" != "${PODMAN_COMPOSE#*==}" ]; then
    echo "deps: pip install $PODMAN_COMPOSE into $compose_venv" >&2
    /usr/bin/python3 -m venv "$compose_venv"
    "$compose_venv/bin/pip" install -q --disable-pip-version-check "$PODMAN_COMPOSE" >/dev/null
fi
