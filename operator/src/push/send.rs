//! Delivering one notification to push services (RFC 8030): the encrypted payload POSTed to
//! each subscription's endpoint with the VAPID `Authorization`. Endpoints the push service
//! says are gone (404, 410) are removed; other failures are logged with the endpoint's host
//! only (its path is the capability to push to that device).

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::encrypt::encrypt;
use super::rules::Notification;
use super::vapid::Vapid;
use crate::store::{PushSubscriptionRow, Store};

/// How long a push service keeps a message for an offline device.
pub const TTL_SECS: u32 = 12 * 60 * 60;

/// How many deliveries run at once.
pub const CONCURRENCY: usize = 8;

/// The HTTP client for push services (TLS with the system's roots, no redirects: the
/// `Authorization` header goes to the endpoint's origin only).
pub fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("claude-cockpit/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|err| {
                tracing::warn!("building the push HTTP client ({err}); using the defaults");
                reqwest::Client::new()
            })
    })
}

/// What became of one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The push service took the message.
    Delivered,
    /// The subscription is gone (404/410): it was removed.
    Removed,
    /// Not delivered; the reason (no secret in it).
    Failed(String),
}

/// Totals of one notification sent to every subscription.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Taken by the push service.
    pub delivered: u32,
    /// Subscriptions found gone and removed.
    pub removed: u32,
    /// Other failures (logged).
    pub failed: u32,
}

/// The part of an endpoint that may be logged: its host.
pub fn endpoint_host(endpoint: &str) -> String {
    reqwest::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "(invalid endpoint)".to_owned())
}

/// A `Topic` (RFC 8030 §5.4: at most 32 URL-safe characters) for a notification tag: a newer
/// message with the same topic replaces one still waiting at the push service.
fn topic(tag: &str) -> String {
    let digest = Sha256::digest(tag.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..24])
}

/// What sending to one subscription needs besides the subscription and the notification.
struct Sender<'a> {
    client: &'a reqwest::Client,
    vapid: &'a Vapid,
    subject: &'a str,
    store: &'a Store,
}

impl Sender<'_> {
    /// Sends `notification` to one subscription.
    async fn deliver(&self, sub: &PushSubscriptionRow, notification: &Notification) -> Outcome {
        let host = endpoint_host(&sub.endpoint);
        let outcome = self.attempt(sub, notification).await;
        match &outcome {
            Outcome::Delivered => tracing::debug!(%host, tag = %notification.tag, "push delivered"),
            Outcome::Removed => tracing::info!(%host, "the push service says the subscription is gone; removed it"),
            Outcome::Failed(reason) => tracing::warn!(%host, tag = %notification.tag, "push not delivered: {reason}"),
        }
        outcome
    }

    async fn attempt(&self, sub: &PushSubscriptionRow, notification: &Notification) -> Outcome {
        let Sender { client, vapid, subject, store } = *self;
        let keys = URL_SAFE_NO_PAD
            .decode(sub.p256dh.trim_end_matches('='))
            .ok()
            .zip(URL_SAFE_NO_PAD.decode(sub.auth.trim_end_matches('=')).ok());
        let Some((p256dh, auth)) = keys else {
            return Outcome::Failed("the stored subscription keys are not base64url".into());
        };
        let payload = match serde_json::to_vec(notification) {
            Ok(payload) => payload,
            Err(err) => return Outcome::Failed(format!("encoding the payload: {err}")),
        };
        let body = match encrypt(&payload, &p256dh, &auth) {
            Ok(body) => body,
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        let authorization = match vapid.authorization(&sub.endpoint, subject, Utc::now()) {
            Ok(value) => value,
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        let response = client
            .post(&sub.endpoint)
            .header("TTL", TTL_SECS.to_string())
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Urgency", notification.urgency.as_header())
            .header("Topic", topic(&notification.tag))
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            // reqwest's errors name the URL: keep only what kind of failure it was.
            Err(err) => return Outcome::Failed(transport_error(&err)),
        };
        let status = response.status();
        if status.is_success() {
            return Outcome::Delivered;
        }
        if matches!(status.as_u16(), 404 | 410) {
            return match store.remove_push_subscription(&sub.endpoint).await {
                Ok(_) => Outcome::Removed,
                Err(err) => Outcome::Failed(format!("the subscription is gone ({status}), removing it failed: {err}")),
            };
        }
        let text = response.text().await.unwrap_or_default();
        let path = reqwest::Url::parse(&sub.endpoint).map(|u| u.path().to_owned()).unwrap_or_default();
        let mut said: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
        if path.len() > 1 {
            said = said.replace(&path, "/…");
        }
        let hint = if said.contains("BadJwtToken") {
            format!(
                " (Apple refuses the VAPID subject {subject:?}: set {} to a mailto: address)",
                super::vapid::SUBJECT_ENV
            )
        } else {
            String::new()
        };
        Outcome::Failed(format!("the push service answered {status}: {said}{hint}"))
    }
}

/// A transport error without its URL.
fn transport_error(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_request() {
        "the request failed"
    } else {
        "the exchange failed"
    };
    let mut source = std::error::Error::source(err);
    let mut cause = String::new();
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    if cause.is_empty() { kind.to_owned() } else { format!("{kind}: {cause}") }
}

/// Sends `notification` to every subscription, [`CONCURRENCY`] at a time.
pub async fn deliver_all(vapid: &Vapid, subject: &str, store: &Store, notification: &Notification) -> Report {
    let subs = match store.list_push_subscriptions().await {
        Ok(subs) => subs,
        Err(err) => {
            tracing::warn!("listing push subscriptions: {err}");
            return Report::default();
        }
    };
    let sender = Sender { client: client(), vapid, subject, store };
    let sender = &sender;
    let outcomes: Vec<Outcome> = futures_util::stream::iter(subs)
        .map(|sub| async move { sender.deliver(&sub, notification).await })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut report = Report::default();
    for outcome in outcomes {
        match outcome {
            Outcome::Delivered => report.delivered += 1,
            Outcome::Removed => report.removed += 1,
            Outcome::Failed(_) => report.failed += 1,
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_host_of_an_endpoint_is_shown() {
        assert_eq!(endpoint_host("https://fcm.googleapis.com/fcm/send/secret:token"), "fcm.googleapis.com");
        assert_eq!(endpoint_host("garbage"), "(invalid endpoint)");
    }

    #[test]
    fn topics_are_short_and_url_safe() {
        let t = topic("session-3f1c9a0e-6a43-4c39-9a55-6e1d2c3b4a59");
        assert_eq!(t.len(), 32);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(t, topic("session-other"));
    }
}
