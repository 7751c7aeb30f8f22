#!/usr/bin/env bash
# Fails when `unsafe` appears in src/ outside src/sys.rs and its submodules in
# src/sys/ (the only places allowed to hold it).
set -euo pipefail
cd "$(dirname "$0")/.."
if hits=$(grep -rnw --include='*.rs' 'unsafe' src | grep -v -e '^src/sys.rs:' -e '^src/sys/' | grep -v 'deny(unsafe_code)'); then
    echo "unsafe outside src/sys.rs and src/sys/:" >&2
    echo "$hits" >&2
    exit 1
fi
echo "unsafe: only in src/sys.rs and src/sys/"
