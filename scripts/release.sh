#!/usr/bin/env bash
# `make release`: dist/release/ from dist/init and dist/init-aarch64
# (docs/development.md, "Releases"):
#   mooring-VERSION-x86_64-linux-musl, mooring-VERSION-aarch64-linux-musl   the static binaries
#   mooring-VERSION.oci.tar        one multi-arch OCI image archive (amd64, arm64)
#   mooring_VERSION_amd64.deb, mooring_VERSION_arm64.deb       Debian packages
#   mooring-VERSION.spdx.json      the SBOM of the Rust dependencies
#   SHA256SUMS                     of all of the above
# Every date in them is the commit's (SOURCE_DATE_EPOCH when set), so the
# same commit gives the same bytes wherever it is checked out.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${NIGHTLY:?the toolchain the binaries were built with (the Makefile sets it)}"

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
for f in dist/init dist/init-aarch64; do
    [ -x "$f" ] || { echo "release: $f is missing: run \`make build\`" >&2; exit 1; }
done
out=dist/release
rm -rf "$out"; mkdir -p "$out"

for arch in amd64:x86_64:dist/init arm64:aarch64:dist/init-aarch64; do
    IFS=: read -r debian rust bin <<< "$arch"
    install -m 0755 "$bin" "$out/mooring-$version-$rust-linux-musl"
    touch -d "@$epoch" "$out/mooring-$version-$rust-linux-musl"
    scripts/deb.sh "$debian" "$bin" "$out" "$version" "$epoch"
done
scripts/oci-archive.py "$out/mooring-$version.oci.tar" "$version" "$epoch" LICENSE \
    amd64=dist/init arm64=dist/init-aarch64
scripts/sbom.py "$out/mooring-$version.spdx.json" "$version" "$epoch" "$NIGHTLY" \
    x86_64-unknown-linux-musl aarch64-unknown-linux-musl
(cd "$out" && ls | grep -vx SHA256SUMS | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)
ls -l "$out" | tail -n +2 | awk '{printf "%s/%s: %d bytes\n", "'"$out"'", $9, $5}'
