//! # cockpit-term
//!
//! What the worker and the control plane both keep of a terminal's output: the last bytes in
//! a bounded [`ring::OutputRing`] addressed by absolute offset (replay to a client that
//! reconnects), and a [`terminal::Terminal`] emulator whose screen can be read as text and
//! repainted on a fresh terminal (a snapshot). The worker keeps them beside its PTY; the
//! control plane beside its copy of the stream.

pub mod ring;
pub mod terminal;
