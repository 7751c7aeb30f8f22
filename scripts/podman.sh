#!/usr/bin/env bash
# mooring's own podman store and settings, so tests and benchmarks never touch
# the host's images or containers (each setting says why below).
#
#   scripts/podman.sh setup        write the config, build the busybox base image (idempotent)
#   scripts/podman.sh podman ARGS  run podman against this store
#   scripts/podman.sh compose ARGS podman-compose (scripts/deps.sh installs it) against this store
#   eval "$(scripts/podman.sh env)"
set -euo pipefail

ROOT=${MOORING_PODMAN_DIR:-/var/tmp/mooring-podman}
RUN=${MOORING_PODMAN_RUN:-/run/mooring-podman}
BASE_IMAGE=localhost/mooring-busybox:base
export CONTAINERS_CONF=$ROOT/containers.conf
export CONTAINERS_STORAGE_CONF=$ROOT/storage.conf

overlay_works() {
    local d; d=$(mktemp -d "$ROOT/.probe.XXXXXX")
    mkdir -p "$d"/{l,u,w,m}
    if mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m" 2>/dev/null; then
        umount "$d/m"; rm -rf "$d"; return 0
    fi
    rm -rf "$d"; return 1
}

write_config() {
    mkdir -p "$ROOT/storage" "$RUN"
    if [ ! -f "$CONTAINERS_STORAGE_CONF" ]; then
        local driver=vfs
        overlay_works && driver=overlay
        printf '[storage]\ndriver = "%s"\ngraphroot = "%s/storage"\nrunroot = "%s/storage"\n' \
            "$driver" "$ROOT" "$RUN" > "$CONTAINERS_STORAGE_CONF"
    fi
    # runc (crun fails on this host's hybrid cgroups), cgroupfs, file events; without the
    # ulimits runc fails with "error setting rlimit type 7"; no network unless asked.
    cat > "$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$RUN/libpod"
CONF
}

build_base() {
    podman image exists "$BASE_IMAGE" && return 0
    local ctx; ctx=$(mktemp -d)
    mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/etc" "$ctx/rootfs/tmp" "$ctx/rootfs/root"
    cp /bin/busybox "$ctx/rootfs/bin/busybox"
    chmod 1777 "$ctx/rootfs/tmp"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$ctx/rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$ctx/rootfs/etc/group"
    printf 'FROM scratch\nCOPY rootfs/ /\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nENV PATH=/bin\nCMD ["/bin/sh"]\n' \
        > "$ctx/Containerfile"
    podman build -q -t "$BASE_IMAGE" "$ctx" >/dev/null
    rm -rf "$ctx"
    echo "podman: built $BASE_IMAGE" >&2
}

case "${1:-}" in
    setup) write_config; build_base ;;
    env) printf 'export CONTAINERS_CONF=%s\nexport CONTAINERS_STORAGE_CONF=%s\n' "$CONTAINERS_CONF" "$CONTAINERS_STORAGE_CONF" ;;
    podman) shift; exec podman "$@" ;;
    compose) shift; exec "$ROOT/venv/bin/podman-compose" "$@" ;;
    *) sed -n '2,9p' "$0"; exit 2 ;;
esac
