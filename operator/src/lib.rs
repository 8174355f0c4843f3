//! # cockpit-operator
//!
//! The control plane behind the `cockpit` binary: the pure reconcile decisions shared by both
//! runtimes, the local runtime (worker processes, SQLite) used by the embedded default, the
//! gateway (REST + WebSocket for the PWA), persistence (SQLite or PostgreSQL) and the config
//! file.

pub mod app;
pub mod backend;
pub mod changes;
pub mod cli_range;
pub mod config;
pub mod conversation;
pub mod env_secrets;
pub mod gateway;
pub mod k8s;
pub mod push;
pub mod reconcile;
pub mod runtime;
pub mod serve;
pub mod store;
pub mod stream;
pub mod streams;
pub mod worker_credentials;
pub mod worktree;
