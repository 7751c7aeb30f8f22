#!/usr/bin/env bash
# Builds the Debian package of one architecture with dpkg-deb:
#   scripts/deb.sh ARCH BINARY OUTDIR VERSION EPOCH
# /usr/bin/mooring, the manual page mooring(1), the licence as
# /usr/share/doc/mooring/copyright (machine-readable), a changelog and
# lintian's overrides (each one explained), from packaging/deb/ and
# docs/mooring.1. Owners root, every time EPOCH (the
# commit's), so that the same inputs give the same bytes
# (docs/development.md, "Releases").
set -euo pipefail
cd "$(dirname "$0")/.."
arch=$1 bin=$2 out=$3 version=$4 epoch=$5

stage=$(mktemp -d "${TMPDIR:-/tmp}/mooring-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
umask 022
chmod 0755 "$stage"
fill() {   # template -> stdout, with the package's values
    sed -e "s/@VERSION@/$version/g" -e "s/@ARCH@/$arch/g" -e "s/@SIZE@/${size:-0}/g" \
        -e "s/@DATE@/$(date -u -d "@$epoch" +%Y-%m-%d)/g" \
        -e "s/@RFC2822@/$(date -u -d "@$epoch" -R)/g" "$1"
}
install -D -m 0755 "$bin" "$stage/usr/bin/mooring"
mkdir -p "$stage/usr/share/man/man1" "$stage/usr/share/doc/mooring" "$stage/usr/share/lintian/overrides" "$stage/DEBIAN"
fill docs/mooring.1 | gzip -9n > "$stage/usr/share/man/man1/mooring.1.gz"
fill packaging/deb/changelog | gzip -9n > "$stage/usr/share/doc/mooring/changelog.gz"
cp packaging/deb/copyright "$stage/usr/share/doc/mooring/copyright"
cp packaging/deb/lintian-overrides "$stage/usr/share/lintian/overrides/mooring"
chmod 0644 "$stage"/usr/share/man/man1/* "$stage"/usr/share/doc/mooring/* "$stage"/usr/share/lintian/overrides/*
size=$(du -sk --apparent-size "$stage/usr" | cut -f1)
fill packaging/deb/control > "$stage/DEBIAN/control"
(cd "$stage" && find usr -type f | LC_ALL=C sort | xargs md5sum > DEBIAN/md5sums)
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"
find "$stage" -exec touch -h -d "@$epoch" {} +
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$stage" "$out/mooring_${version}_${arch}.deb" >/dev/null
