//! mooring's pure parts as a library: the config schema and validation, the
//! template language, secrets, rendering and user lookups. The `init` binary
//! (src/main.rs) adds the command line, logging, the system calls and the
//! PID 1 loop; the fuzz targets (fuzz/) link this library alone.
#![deny(unsafe_code)]

pub mod config;
pub mod env;
pub mod error;
pub mod setup;
