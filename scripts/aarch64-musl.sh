#!/usr/bin/env bash
# The aarch64 musl C library that `make build` links dist/init-aarch64 against,
# cached in /var/tmp/mooring-aarch64-musl (about 3 s and 1 MB the first time).
#
# The rust-std component for aarch64-unknown-linux-musl (whose self-contained
# crt objects and libc.a a musl link normally uses) cannot be downloaded on our
# machines, and the release build rebuilds std from rust-src anyway. So the
# crt objects and libc.a come from Debian's musl-dev for arm64, fetched with a
# private apt state (the host's dpkg architectures and lists stay untouched),
# and rust-lld links them. std names `-lunwind` for every static musl link; with
# panics compiled to a bare abort nothing unwinds, so an empty archive stands
# in: should anything ever need an unwinder symbol, the link fails naming it.
#
#   scripts/aarch64-musl.sh    prepare the directory (idempotent), print its path
set -euo pipefail

DEST=${MOORING_AARCH64_MUSL:-/var/tmp/mooring-aarch64-musl}
OBJECTS=(crt1.o crti.o crtn.o libc.a)

ready() {
    local f
    for f in "${OBJECTS[@]}" libunwind.a; do [ -f "$DEST/lib/$f" ] || return 1; done
}

fetch() {
    local mirror suite
    work=$(mktemp -d "${TMPDIR:-/tmp}/mooring-aarch64-musl.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    mirror=$( { grep -hsE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
                grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
                  | sed -E 's/\[[^]]*\]//' | awk '{print $2}'; } | grep -E '/debian/?$' | head -n1 || true)
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
    : > "$work/status"
    echo "deb ${mirror:-http://deb.debian.org/debian} $suite main" > "$work/sources.list"
    local apt=(apt-get -q -o APT::Architecture=arm64 -o APT::Architectures::=arm64
        -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o Dir::State::Status="$work/status"
        -o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/nonexistent
        -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
    echo "aarch64-musl: musl-dev:arm64 from ${mirror:-http://deb.debian.org/debian} $suite" >&2
    "${apt[@]}" update > "$work/apt.log" 2>&1 || { tail -n 5 "$work/apt.log" >&2; exit 1; }
    (cd "$work/deb" && "${apt[@]}" download musl-dev) >> "$work/apt.log" 2>&1 || { tail -n 5 "$work/apt.log" >&2; exit 1; }
    dpkg-deb -x "$work"/deb/musl-dev_*_arm64.deb "$work/root"
    rm -rf "$DEST.tmp" && mkdir -p "$DEST.tmp/lib"
    local f
    for f in "${OBJECTS[@]}"; do cp "$work/root/usr/lib/aarch64-linux-musl/$f" "$DEST.tmp/lib/"; done
    printf '!<arch>\n' > "$DEST.tmp/lib/libunwind.a"
    rm -rf "$DEST" && mv "$DEST.tmp" "$DEST"
}

ready || fetch
echo "$DEST/lib"
