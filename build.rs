//! Cargo does not see linker scripts: `make build` links the release binary
//! with scripts/cold.ld (Makefile), so a change to it must relink init.
fn main() {
    println!("cargo:rerun-if-changed=scripts/cold.ld");
}
