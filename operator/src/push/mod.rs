//! Web Push: the control plane tells the person's devices when a session needs them.
//!
//! - [`vapid`]: the application server's key pair (made once, kept in the `settings` table)
//!   and the signed JWT of RFC 8292.
//! - [`encrypt`]: the payload encryption of RFC 8291 (`aes128gcm`).
//! - [`rules`]: the pure decision of what to say when a session changes.
//! - [`send`]: delivery to the push services, removing subscriptions they say are gone.
//! - [`notifier`]: the task that watches the change feed and sends.

pub mod encrypt;
pub mod notifier;
pub mod rules;
pub mod send;
pub mod vapid;

use crate::config::Config;

/// The VAPID `sub` for this control plane: [`vapid::SUBJECT_ENV`] from the environment, else
/// the first `https` origin of `allowedOrigins`, else [`vapid::FALLBACK_SUBJECT`].
pub fn subject(config: &Config) -> String {
    vapid::subject(std::env::var(vapid::SUBJECT_ENV).ok().as_deref(), &config.allowed_origins)
}
