#!/usr/bin/env bash
# Builds images/mooring/Containerfile in mooring's own podman store
# (scripts/podman.sh) from dist/init and dist/init-aarch64 (`make build`):
#   localhost/mooring:VERSION and localhost/mooring:latest   linux/amd64
#   localhost/mooring:VERSION-arm64                          linux/arm64
# VERSION is Cargo.toml's. Nothing is pulled: the image is FROM scratch.
# dist/release/mooring-VERSION.oci.tar (`make release`) holds the same image
# for other stores and registries.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
[ -n "$version" ] || { echo "image: no version in Cargo.toml" >&2; exit 1; }
for f in dist/init dist/init-aarch64; do
    [ -x "$f" ] || { echo "image: $f is missing: run \`make build\`" >&2; exit 1; }
done

ctx=$(mktemp -d "${TMPDIR:-/tmp}/mooring-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
cp dist/init "$ctx/init-amd64"
cp dist/init-aarch64 "$ctx/init-arm64"
cp LICENSE "$ctx/LICENSE"

podman() { scripts/podman.sh podman "$@"; }
# The images this script built before, by id: a rebuild removes those it
# left untagged, and never an image someone else built or tagged.
built=${MOORING_PODMAN_DIR:-/var/tmp/mooring-podman}/image-sh.ids
touch "$built"

build() {
    podman build -q --build-arg VERSION="$version" -f images/mooring/Containerfile "$@" "$ctx" >/dev/null
}
build --platform linux/amd64 -t "localhost/mooring:$version" -t localhost/mooring:latest
build --platform linux/arm64 -t "localhost/mooring:$version-arm64"
for tag in "$version" "$version-arm64"; do
    podman image inspect --format '{{.Id}}' "localhost/mooring:$tag" >> "$built"
done
# A rebuild leaves the images it replaced untagged: remove those (unless in use).
sort -u -o "$built" "$built"
for id in $(cat "$built"); do
    case "$(podman image inspect --format '{{len .RepoTags}}' "$id" 2>/dev/null || echo gone)" in
        0) podman rmi "$id" >/dev/null 2>&1 && sed -i "/^$id\$/d" "$built" || true ;;
        gone) sed -i "/^$id\$/d" "$built" ;;
    esac
done
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' --filter reference=localhost/mooring >&2
