#!/usr/bin/env bash
# A debootstrap'd Debian bookworm rootfs (minbase) for the identity tests, cached
# at /var/tmp/mooring-debian-rootfs (about 30 s and 200 MB the first time).
set -euo pipefail
DEST=${MOORING_DEBIAN_ROOTFS:-/var/tmp/mooring-debian-rootfs}
if [ -x "$DEST/usr/bin/getent" ]; then
    # Test runs before the overlay (tests/identity.rs) wrote into the cache: undo that.
    if grep -q '^app:' "$DEST/etc/passwd"; then
        sed -i '/^app:/d' "$DEST/etc/passwd" "$DEST/etc/group" "$DEST/etc/shadow"
        rm -rf "$DEST/init" "$DEST/opt/config" "$DEST/home/app"
    fi
    exit 0
fi
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap debian-archive-keyring >/dev/null
mirror=$( { grep -hsE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
            grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
              | sed -E 's/\[[^]]*\]//' | awk '{print $2}'; } | grep -E '/debian/?$' | head -n1 || true)
rm -rf "$DEST.tmp"
echo "debian-rootfs: debootstrap --variant=minbase bookworm ${mirror:-http://deb.debian.org/debian}" >&2
debootstrap --variant=minbase bookworm "$DEST.tmp" "${mirror:-http://deb.debian.org/debian}" > /tmp/mooring-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/mooring-debootstrap.log >&2; exit 1; }
rm -rf "$DEST" && mv "$DEST.tmp" "$DEST"
