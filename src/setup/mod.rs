//! The one-shot phases before the workload runs: secrets, templates (and,
//! with later issues, identity, volumes and waits).

pub mod account;
pub mod entries;
pub mod load;
pub mod render;
pub mod secrets;
pub mod template;
pub mod user;
pub mod volume;
pub mod wait;
