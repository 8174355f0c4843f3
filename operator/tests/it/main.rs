//! The control plane's integration tests, as one binary (one link instead of one per file):
//! in-process router tests ([`router`]), the packaging ([`chart`], [`kube_chart`]), the
//! Kubernetes adapter against an HTTP-level API server ([`kube_controller`], [`kube_accounts`],
//! [`kube_apiserver`], [`kube_e2e`]), the store on SQLite and PostgreSQL ([`store`]), and the
//! process-level journeys that need real workers, PTYs, sockets and the real CLI ([`laptop`],
//! [`trust`], [`rotation`], [`reliability`], …). Shared helpers are in [`support`].
//!
//! `cargo test -p cockpit-operator --test it -- rotation::` runs one file's tests.

mod support;

mod api;
mod chart;
mod config;
mod conversation;
mod faults;
mod kube_accounts;
mod kube_apiserver;
mod kube_chart;
mod kube_controller;
mod kube_e2e;
mod laptop;
mod limits;
mod no_token;
mod openapi;
mod push;
mod reconcile;
mod relay;
mod reliability;
mod rotation;
mod router;
mod store;
mod streams;
mod trust;
mod worktree;
