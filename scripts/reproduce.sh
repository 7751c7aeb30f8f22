#!/usr/bin/env bash
# `make test-reproducible`: the sources extracted again at a second path,
# of another length, built and released there (its own target directory),
# and every file of its dist/release compared byte for byte with ours. The
# copy holds the commit with the work tree's changes to tracked files (`git
# stash create`, which changes nothing), dated as the commit is.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/release/SHA256SUMS ] || { echo "reproduce: dist/release is missing: run \`make release\`" >&2; exit 1; }
base=$(mktemp -d "${TMPDIR:-/tmp}/mooring-reproduce.XXXXXX")
trap 'rm -rf "$base"' EXIT
copy=$base/a/second/checkout/of/mooring
mkdir -p "$copy"
tree=$(git stash create); tree=${tree:-HEAD}
git archive "$tree" | tar -x -C "$copy"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)} make -C "$copy" release >/dev/null
# Crate hashes (cargo's -C metadata, in every file name of deps/ and in
# every symbol name) must not depend on the path either: they order code
# in the binary, so a path in them (in RUSTFLAGS, say) makes half of all
# path pairs differ, and a single pair would pass by chance. Every crate
# of the copy's build must be one of ours (ours may hold older builds too).
deps=target/nightly/x86_64-unknown-linux-musl/release/deps
rlibs() { ls "$1" | grep '\.rlib$' | LC_ALL=C sort; }
new=$(LC_ALL=C comm -13 <(rlibs "$deps") <(rlibs "$copy/$deps"))
if [ -n "$new" ]; then
    echo "reproduce: crate hashes of $copy that $PWD's build has not (the path reached cargo's metadata):" $new >&2
    exit 1
fi
if diff -r dist/release "$copy/dist/release"; then
    echo "reproduce: $(ls dist/release | wc -l) files of dist/release identical, built at $PWD and at $copy"
else
    for f in dist/release/*; do
        cmp "$f" "$copy/$f" >/dev/null || echo "reproduce: $f: $(cmp -l "$f" "$copy/$f" | wc -l) bytes differ" >&2
    done
    exit 1
fi
