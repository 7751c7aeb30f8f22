//! The one-shot phases before the workload runs: secrets, templates,
//! identity, volumes and waits; `plan` is what boot and `init check` share.

pub mod account;
pub mod load;
pub mod nonroot;
pub mod plan;
pub mod render;
pub mod secrets;
pub mod user;
pub mod volume;
pub mod wait;
