//! # cockpit-api: Claude Cockpit's shared vocabulary
//!
//! One source of truth for every type that crosses a process boundary:
//!
//! - the custom resources [`ClaudeSession`] and [`ClaudeAccount`] (group `cockpit.dev`,
//!   version `v1alpha1`), whose generated CRD YAML is checked in under `crds/`;
//! - the activity states a worker reports ([`Activity`] and its details);
//! - the WebSocket frames between a worker and its clients ([`frames`]);
//! - a session's conversation as the phone shows it ([`conversation`], [`tool_view`]);
//! - the one-shot (`claude -p --output-format stream-json`) events and result ([`oneshot`]).
//!
//! `cargo run -p cockpit-api --bin crdgen` regenerates the CRD YAML and the TypeScript types
//! for the frontend from these types; a test fails when the checked-in files differ.

// kube's `printcolumn(...)` lists repeat `type_ = …` by design; clippy reads them as duplicated attributes.
#![allow(clippy::duplicated_attributes)]

pub mod account;
pub mod activity;
pub mod api;
pub mod changes;
pub mod codegen;
pub mod conditions;
pub mod conversation;
pub mod frames;
pub mod ids;
pub mod oneshot;
pub mod session;
pub mod tool_view;
pub mod usage;
pub mod worker_state;

pub use account::{AccountUsage, ClaudeAccount, ClaudeAccountSpec, ClaudeAccountStatus, CredentialKind, SecretKeyRef};
pub use activity::{Activity, ApprovalDecision, PendingApproval, RateLimit, RateLimitWindow};
pub use conditions::Condition;
pub use session::{
    ClaudeSession, ClaudeSessionSpec, ClaudeSessionStatus, OneshotSummary, PermissionMode, RotationPolicy, SessionMode,
    SessionPhase, TokenUsage,
};
pub use usage::{Denial, PlanUtilization, SessionCost, StatusReport, UsageWindow};
pub use worker_state::WorkerState;

/// The API group of every Claude Cockpit custom resource.
pub const API_GROUP: &str = "cockpit.dev";
/// The API version of the custom resources defined here.
pub const API_VERSION: &str = "v1alpha1";
