//! Runtimes carry out the reconcile plans: the local runtime runs workers as child processes
//! (the embedded default); the Kubernetes runtime runs them as pods.

pub mod backend;
pub mod controller;
pub mod local;
pub mod proof;

pub use backend::LocalBackend;
pub use local::{LocalRuntime, StartRequest, WorkerSettings};
