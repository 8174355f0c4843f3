//! The Kubernetes runtime: `ClaudeSession` objects are sessions, each with one worker Pod;
//! `ClaudeAccount` objects are accounts. The decisions are the same pure ones the local
//! runtime uses ([`crate::reconcile`]); this module turns them into API calls.

pub mod account;
pub mod backend;
pub mod controller;
pub mod events;
pub mod observe;
pub mod pod;
pub mod run;

pub use backend::KubeBackend;
