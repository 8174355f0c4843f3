//! # cockpit-worker
//!
//! Hosts ONE Claude Code CLI in a PTY and serves it over WebSocket: every output byte with its
//! absolute offset (a bounded ring plus a VT100 emulator for snapshots), input from any number
//! of clients, and the session's activity (from Claude Code's hooks first, from the rendered
//! screen as a fallback).
//!
//! Functional core: [`ratelimit`], [`classify`], [`activity`], [`hooks`], [`statusline`],
//! [`claude_setup`], [`oneshot`], [`args`], [`pacing`], [`emulation`] are pure; the output
//! ring and the emulator are the `cockpit-term` crate, shared with the control plane.
//! Imperative shell: [`pty`], [`input`], [`hub`], [`client`], [`server`], [`run`].

pub mod activity;
pub mod api_proxy;
pub mod args;
pub mod auth;
pub mod classify;
pub mod claude_setup;
pub mod cli;
pub mod client;
pub mod emulation;
pub mod hook_post;
pub mod hooks;
pub mod hub;
pub mod input;
pub mod oneshot;
pub mod pacing;
pub mod peer;
pub mod private_dir;
pub mod pty;
pub mod ratelimit;
pub mod run;
pub mod server;
pub mod statusline;
