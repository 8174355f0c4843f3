//! Test support for Claude Cockpit.
//!
//! The main piece is [`StandIn`], a scripted stand-in for the Anthropic
//! Messages API. Test suites point the real Claude Code CLI at it through
//! `ANTHROPIC_BASE_URL`; only the model is stood in for, everything else in
//! a test is real.
//!
//! What the stand-in answers is chosen by trigger words in the text of the
//! last user message (see [`script::Trigger`]): `TOOLBASH`, `TOOLWRITE`, `TOOLRUN <command>`,
//! `RL5H`, `RLWEEK`, `RLOPUS`, `RL429`, `OVERLOAD`, `AUTH401`, `WARN93`,
//! `SLOW`. Without a trigger it streams `Stand-in reply #N: you said "…"`,
//! where `N` is the number of user turns in the conversation.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use cockpit_testkit::{StandIn, Window};
//! let api = StandIn::start().await?;
//! let base_url = api.base_url(); // -> ANTHROPIC_BASE_URL
//! api.limit_token("sk-ant-oat01-test-A", Window::Session);
//! // ... run the CLI ...
//! for r in api.requests() { println!("{} {:?} {}", r.path, r.token, r.status); }
//! # Ok(()) }
//! ```

pub mod ratelimit;
pub mod request;
pub mod script;
pub mod seen;
pub mod server;
pub mod sse;

pub use ratelimit::Window;
pub use request::{AuthKind, RecordedRequest};
pub use seen::Seen;
pub use server::StandIn;

/// The real Claude Code CLI the test suites run: `COCKPIT_TEST_CLAUDE`, or the copy ./test.sh
/// installs next to this crate (`npm/`). Missing is a failure, never a skip.
pub fn claude_bin() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("COCKPIT_TEST_CLAUDE") {
        return path.into();
    }
    let local = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("npm/node_modules/.bin/claude");
    assert!(local.exists(), "the real Claude Code CLI is not installed: run ./test.sh (it installs it)");
    local
}
