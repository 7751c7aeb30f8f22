//! mooring's pure parts as a library: the config schema and validation, the
//! template language, secrets, rendering, user lookups, waits, the log
//! pattern matcher and the status file's values. The `init` binary
//! (src/main.rs) adds the command line, logging, the system calls and the
//! PID 1 loop; the fuzz targets (fuzz/) link this library alone.
#![deny(unsafe_code)]

pub mod config;
pub mod entries;
pub mod env;
pub mod error;
pub mod escape;
pub mod json;
pub mod notice;
pub mod pattern;
pub mod probe;
pub mod procfs;
pub mod redact;
pub mod safe_fs;
pub mod semaphore;
pub mod setup;
pub mod status;
pub mod sysdirs;
pub mod template;
