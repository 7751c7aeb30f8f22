#!/usr/bin/env bash
# localhost/debian:bookworm-slim in mooring's own podman store (scripts/podman.sh),
# made from the cached debootstrap rootfs (scripts/debian-rootfs.sh) and slimmed
# the way Debian's official -slim images are: no apt lists or package cache, no
# docs, man pages or locales, and dpkg/apt settings that keep later
# `apt-get install`s as slim (no docs, no recommends, no cache). Nothing is
# pulled. Idempotent: the image is rebuilt only when this recipe changed
# (its hash is the image's label) or the image is missing.
#
# Containerfiles then say `FROM debian:bookworm-slim` as users write them: in
# this store the short name resolves to the local image.
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")/.."

IMAGE=localhost/debian:bookworm-slim
SUITE=bookworm
ROOTFS=${MOORING_DEBIAN_ROOTFS:-/var/tmp/mooring-debian-rootfs}
podman() { scripts/podman.sh podman "$@"; }

recipe=$(sha256sum "$self" | cut -c1-16)
seen=$(podman image inspect --format '{{index .Labels "org.mooring.recipe"}}' "$IMAGE" 2>/dev/null || true)
[ "$seen" = "$recipe" ] && exit 0

scripts/debian-rootfs.sh

# The mirror apt uses on this host (as debian-rootfs.sh takes it), and its
# -security sibling, for the image's own sources.
uris=$( { grep -hsE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources | awk '{for (i = 2; i <= NF; i++) print $i}'
          grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | sed -E 's/\[[^]]*\]//' | awk '{print $2}'; } || true)
mirror=$(grep -E '/debian/?$' <<<"$uris" | head -n1 || true)
security=$(grep -E '/debian-security/?$' <<<"$uris" | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
security=${security:-http://deb.debian.org/debian-security}

work=$(mktemp -d /var/tmp/mooring-debian-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
r=$work/rootfs
cp -a "$ROOTFS" "$r"

cat > "$r/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
# As in Debian's official -slim images: packages installed later leave out
# their docs (copyright files kept), man pages and translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
cat > "$r/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$r/etc/apt/apt.conf.d/docker-no-recommends"
rm -f "$r/etc/apt/sources.list"
cat > "$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

find "$r/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$r"/usr/share/{man,info,locale,lintian}/* "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/* \
    "$r"/var/cache/debconf/*-old "$r"/var/log/*.log "$r"/var/log/apt/* "$r"/dev/* "$r"/tmp/* "$r"/run/*
# The engine mounts its own /dev, resolv.conf, hostname and hosts.
: > "$r/etc/resolv.conf"
echo localhost > "$r/etc/hostname"

previous=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
tar --numeric-owner --xattrs -C "$r" -c . | podman import -q \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    --change "LABEL org.mooring.recipe=$recipe" \
    - "$IMAGE" >/dev/null
[ -n "$previous" ] && podman rmi "$previous" >/dev/null 2>&1 || true
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' --filter reference="$IMAGE" >&2
