#!/usr/bin/env bash
# Fails when `unsafe` appears in src/ outside src/sys.rs (the one file allowed to hold it).
set -euo pipefail
cd "$(dirname "$0")/.."
if hits=$(grep -rnw --include='*.rs' 'unsafe' src | grep -v '^src/sys.rs:' | grep -v 'deny(unsafe_code)'); then
    echo "unsafe outside src/sys.rs:" >&2
    echo "$hits" >&2
    exit 1
fi
echo "unsafe: only in src/sys.rs"
