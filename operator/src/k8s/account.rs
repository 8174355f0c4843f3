//! The `ClaudeAccount` controller: keeps every account's status current —
//! `activeSessions` (its live worker Pods), `rateLimitedUntil` cleared once it has passed (the
//! account is eligible again by itself, without anyone resetting it), and the standard
//! conditions `Ready` and `RateLimited` — with a Kubernetes Event for each transition.
//!
//! The decision is a pure function ([`account_status`]); [`reconcile_account`] carries it out.
//! The session controller only sets `rateLimitedUntil` (and the window) when a worker reports a
//! usage limit; everything else in the status but `usage` is written here.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cockpit_api::{ClaudeAccount, ClaudeAccountStatus};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Resource, ResourceExt};

use super::observe::is_live;
use super::pod::ACCOUNT_LABEL;
use crate::reconcile::conditions::{self, RATE_LIMITED, READY};

/// How often a steady account is looked at again.
const RESYNC: Duration = Duration::from_secs(300);
/// Condition reason: the account can take sessions.
pub const AVAILABLE: &str = "Available";
/// Condition reason: a usage limit is in force.
pub const USAGE_LIMIT: &str = "UsageLimit";
/// Condition reason: the usage limit passed (or was reset by hand).
pub const LIMIT_RESET: &str = "LimitReset";
/// Condition reason: the account never had a limit.
pub const NOT_LIMITED: &str = "NotLimited";
/// Condition reason: the account runs as many sessions as `maxSessions` allows.
pub const AT_CAPACITY: &str = "AtCapacity";

/// A notable transition of an account, for a Kubernetes Event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountEvent {
    /// CamelCase reason (`RateLimited`, `LimitReset`, `AtCapacity`, `Available`).
    pub reason: String,
    /// What happened.
    pub message: String,
    /// A warning (a limit was hit) rather than a normal event.
    pub warning: bool,
}

/// What [`account_status`] decided.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountPlan {
    /// The status the account should have.
    pub status: ClaudeAccountStatus,
    /// True when `rateLimitedUntil` passed and is cleared in `status`.
    pub limit_cleared: bool,
    /// True when the account became able to take sessions again (sessions waiting for one
    /// should look again).
    pub became_eligible: bool,
    /// Transitions to record.
    pub events: Vec<AccountEvent>,
    /// Look again at this time even if nothing changes (the limit's reset).
    pub requeue_at: Option<DateTime<Utc>>,
}

/// Decides an account's status from what it has now, the number of live worker Pods running
/// under it, and the time. Pure.
pub fn account_status(account: &ClaudeAccount, active: u32, now: DateTime<Utc>) -> AccountPlan {
    let old = account.status.clone().unwrap_or_default();
    let mut status = old.clone();
    let generation = account.metadata.generation;
    status.active_sessions = active;
    let condition = |type_: &str| old.conditions.iter().find(|c| c.type_ == type_).cloned();
    let was_limited = conditions::is_true(&old.conditions, RATE_LIMITED);
    let old_ready = condition(READY);

    let limit_cleared = status.rate_limited_until.is_some_and(|until| until <= now);
    if limit_cleared {
        status.rate_limited_until = None;
        status.rate_limit_window = None;
    }
    let mut events = Vec::new();
    let mut requeue_at = None;
    let ready: (bool, &str, String);
    match status.rate_limited_until {
        Some(until) => {
            let window = status.rate_limit_window.map(|w| format!("{w:?} ").to_lowercase()).unwrap_or_default();
            let message = format!("{window}usage limit until {}", until.to_rfc3339());
            conditions::set(&mut status.conditions, RATE_LIMITED, true, USAGE_LIMIT, &message, generation, now);
            if !was_limited {
                events.push(AccountEvent { reason: "RateLimited".into(), message: message.clone(), warning: true });
            }
            ready = (false, "RateLimited", message);
            requeue_at = Some(until);
        }
        None => {
            let (reason, message) = if was_limited || limit_cleared {
                (LIMIT_RESET.to_owned(), "the usage limit passed; the account is eligible again".to_owned())
            } else {
                match condition(RATE_LIMITED) {
                    Some(c) => (c.reason, c.message),
                    None => (NOT_LIMITED.to_owned(), String::new()),
                }
            };
            conditions::set(&mut status.conditions, RATE_LIMITED, false, &reason, &message, generation, now);
            if was_limited || limit_cleared {
                events.push(AccountEvent { reason: LIMIT_RESET.into(), message, warning: false });
            }
            ready = match account.spec.max_sessions {
                Some(max) if active >= max => {
                    (false, AT_CAPACITY, format!("runs {active} sessions, at most {max} at once"))
                }
                _ => (true, AVAILABLE, String::new()),
            };
        }
    }
    let (ready_now, ready_reason, ready_message) = ready;
    conditions::set(&mut status.conditions, READY, ready_now, ready_reason, &ready_message, generation, now);
    // Capacity transitions get an Event of their own; limit ones have theirs above.
    if let Some(old_ready) = &old_ready {
        let limit_related = |reason: &str| reason == "RateLimited";
        if old_ready.reason != ready_reason && !limit_related(&old_ready.reason) && !limit_related(ready_reason) {
            events.push(AccountEvent { reason: ready_reason.to_owned(), message: ready_message, warning: false });
        }
    }
    let was_ready = old_ready.as_ref().is_some_and(|c| c.status == "True");
    AccountPlan { status, limit_cleared, became_eligible: ready_now && !was_ready, events, requeue_at }
}

/// Why an account reconcile failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// Called when an account became able to take sessions again.
pub type OnEligible = Box<dyn Fn(&str) + Send + Sync>;

/// What the account controller needs.
pub struct AccountContext {
    /// The API client.
    pub client: kube::Client,
    /// Records Kubernetes Events; none in tests that do not care.
    pub recorder: Option<Recorder>,
    /// Told when an account became eligible again (sessions waiting for a reset look again).
    pub on_eligible: Option<OnEligible>,
}

/// The merge patch that writes `plan` over `account`'s status: only what this controller owns
/// (`activeSessions`, `conditions`, and the limit when it is cleared), guarded by the
/// resourceVersion it was decided on (a limit set meanwhile is never erased: the patch is refused
/// with 409 and the account is looked at again).
pub fn status_patch(account: &ClaudeAccount, plan: &AccountPlan) -> serde_json::Value {
    let mut status = serde_json::json!({
        "activeSessions": plan.status.active_sessions,
        "conditions": plan.status.conditions,
    });
    if plan.limit_cleared {
        status["rateLimitedUntil"] = serde_json::Value::Null;
        status["rateLimitWindow"] = serde_json::Value::Null;
    }
    serde_json::json!({
        "metadata": { "resourceVersion": account.resource_version() },
        "status": status,
    })
}

/// One reconcile of an account: count its live worker Pods, decide, patch the status when it
/// changed, record the Events, and come back at the limit's reset.
pub async fn reconcile_account(account: Arc<ClaudeAccount>, ctx: Arc<AccountContext>) -> Result<Requeue, Error> {
    let ns = account.namespace().unwrap_or_else(|| "default".into());
    let name = account.name_any();
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let selector = format!("app.kubernetes.io/component=worker,{ACCOUNT_LABEL}={name}");
    let workers = pods.list(&ListParams::default().labels(&selector)).await?.items;
    let active = workers.iter().filter(|p| is_live(p)).count() as u32;
    let now = Utc::now();
    let plan = account_status(&account, active, now);
    if account.status.as_ref() != Some(&plan.status) {
        let api: Api<ClaudeAccount> = Api::namespaced(ctx.client.clone(), &ns);
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(status_patch(&account, &plan))).await?;
        tracing::debug!(account = %name, active, "account status updated");
    }
    if plan.limit_cleared {
        tracing::info!(account = %name, "the usage limit passed; the account is eligible again");
    }
    if let Some(recorder) = &ctx.recorder {
        let reference = account.object_ref(&());
        for event in &plan.events {
            super::events::publish(recorder, &reference, &event.reason, &event.message, event.warning).await;
        }
    }
    if plan.became_eligible
        && let Some(on_eligible) = &ctx.on_eligible
    {
        on_eligible(&name);
    }
    Ok(match plan.requeue_at {
        Some(at) => Requeue::requeue((at - now).to_std().unwrap_or_default().max(Duration::from_secs(1))),
        None => Requeue::requeue(RESYNC),
    })
}

/// Retry failed reconciles (a conflict included) after a short pause.
pub fn error_policy(_account: Arc<ClaudeAccount>, err: &Error, _ctx: Arc<AccountContext>) -> Requeue {
    match err {
        Error::Kube(kube::Error::Api(status)) if status.code == 409 => {
            tracing::debug!("account status changed meanwhile; looking again");
            Requeue::requeue(Duration::from_millis(200))
        }
        _ => {
            tracing::warn!(%err, "account reconcile failed; retrying");
            Requeue::requeue(Duration::from_secs(5))
        }
    }
}

/// Runs the account controller in `namespace` until the stream of accounts ends: every account
/// is reconciled when it changes, when one of its worker Pods changes, and at its limit's reset.
pub async fn run(ctx: Arc<AccountContext>, namespace: &str) {
    let accounts: Api<ClaudeAccount> = Api::namespaced(ctx.client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let ns = namespace.to_owned();
    Controller::new(accounts, watcher::Config::default())
        .watches(pods, watcher::Config::default().labels("app.kubernetes.io/component=worker"), move |pod: Pod| {
            pod.labels().get(ACCOUNT_LABEL).map(|account| ObjectRef::<ClaudeAccount>::new(account).within(&ns))
        })
        .run(reconcile_account, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "account reconcile");
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use cockpit_api::RateLimitWindow;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).single().expect("valid")
    }

    fn account(max: Option<u32>, status: Option<ClaudeAccountStatus>) -> ClaudeAccount {
        let mut a: ClaudeAccount = serde_json::from_value(serde_json::json!({
            "apiVersion": "cockpit.dev/v1alpha1", "kind": "ClaudeAccount",
            "metadata": {"name": "alpha", "namespace": "ns", "generation": 3, "resourceVersion": "41"},
            "spec": {"credentials": {"secretName": "claude-alpha"}, "priority": 1},
        }))
        .expect("account");
        a.spec.max_sessions = max;
        a.status = status;
        a
    }

    fn cond<'a>(status: &'a ClaudeAccountStatus, type_: &str) -> (&'a str, &'a str) {
        let c = status.conditions.iter().find(|c| c.type_ == type_).expect("condition");
        (c.status.as_str(), c.reason.as_str())
    }

    /// The account after `plan` was written (what the next reconcile sees).
    fn after(a: &ClaudeAccount, plan: &AccountPlan) -> ClaudeAccount {
        ClaudeAccount { status: Some(plan.status.clone()), ..a.clone() }
    }

    #[test]
    fn a_new_account_is_ready_and_counts_its_sessions() {
        let plan = account_status(&account(None, None), 2, now());
        assert_eq!(plan.status.active_sessions, 2);
        assert_eq!(cond(&plan.status, READY), ("True", AVAILABLE));
        assert_eq!(cond(&plan.status, RATE_LIMITED), ("False", NOT_LIMITED));
        assert!(
            plan.status.conditions.iter().all(|c| c.observed_generation == Some(3) && c.last_transition_time == now())
        );
        assert!(plan.events.is_empty(), "nothing happened yet: {:?}", plan.events);
        assert_eq!(plan.requeue_at, None);
        assert!(plan.became_eligible);
        // The same again: nothing changes, transition times are kept.
        let a = after(&account(None, None), &plan);
        let again = account_status(&a, 2, now() + chrono::Duration::minutes(1));
        assert_eq!(Some(&again.status), a.status.as_ref());
        assert!(!again.became_eligible && again.events.is_empty());
    }

    #[test]
    fn a_limit_in_force_makes_it_unready_until_the_reset_then_it_clears_itself() {
        let until = now() + chrono::Duration::hours(2);
        let limited = ClaudeAccountStatus {
            rate_limited_until: Some(until),
            rate_limit_window: Some(RateLimitWindow::Session),
            ..ClaudeAccountStatus::default()
        };
        let a = account(None, Some(limited));
        let plan = account_status(&a, 1, now());
        assert_eq!(cond(&plan.status, RATE_LIMITED), ("True", USAGE_LIMIT));
        assert_eq!(cond(&plan.status, READY), ("False", "RateLimited"));
        assert_eq!(plan.status.rate_limited_until, Some(until), "kept while in force");
        assert_eq!(plan.requeue_at, Some(until), "looked at again at the reset");
        assert_eq!(plan.events.len(), 1);
        assert_eq!((plan.events[0].reason.as_str(), plan.events[0].warning), ("RateLimited", true));
        assert!(plan.events[0].message.contains("session usage limit until 2026-11-25T14:00:00"), "{:?}", plan.events);

        let a = after(&a, &plan);
        let steady = account_status(&a, 1, now() + chrono::Duration::hours(1));
        assert!(steady.events.is_empty() && !steady.limit_cleared);

        let plan = account_status(&a, 1, until);
        assert!(plan.limit_cleared);
        assert_eq!((plan.status.rate_limited_until, plan.status.rate_limit_window), (None, None));
        assert_eq!(cond(&plan.status, RATE_LIMITED), ("False", LIMIT_RESET));
        assert_eq!(cond(&plan.status, READY), ("True", AVAILABLE));
        assert_eq!(plan.events.iter().map(|e| e.reason.as_str()).collect::<Vec<_>>(), [LIMIT_RESET]);
        assert!(plan.became_eligible);
        let ready = plan.status.conditions.iter().find(|c| c.type_ == READY).expect("ready");
        assert_eq!(ready.last_transition_time, until);

        let a = after(&a, &plan);
        let later = account_status(&a, 1, until + chrono::Duration::hours(1));
        assert!(later.events.is_empty(), "the reset is told once: {:?}", later.events);
        assert_eq!(cond(&later.status, RATE_LIMITED), ("False", LIMIT_RESET));
    }

    #[test]
    fn a_limit_cleared_by_hand_is_a_reset_too() {
        let a = account(
            None,
            Some(ClaudeAccountStatus {
                rate_limited_until: Some(now() + chrono::Duration::hours(1)),
                ..Default::default()
            }),
        );
        let limited = after(&a, &account_status(&a, 0, now()));
        let mut by_hand = limited.clone();
        if let Some(status) = by_hand.status.as_mut() {
            status.rate_limited_until = None;
        }
        let plan = account_status(&by_hand, 0, now());
        assert!(!plan.limit_cleared, "nothing left to clear");
        assert_eq!(cond(&plan.status, RATE_LIMITED), ("False", LIMIT_RESET));
        assert_eq!(cond(&plan.status, READY), ("True", AVAILABLE));
        assert!(plan.became_eligible);
        assert_eq!(plan.events.iter().map(|e| e.reason.as_str()).collect::<Vec<_>>(), [LIMIT_RESET]);
    }

    #[test]
    fn a_full_account_is_not_ready_and_says_so_once() {
        let a = account(Some(2), None);
        let ready = after(&a, &account_status(&a, 1, now()));
        let full = account_status(&ready, 2, now());
        assert_eq!(cond(&full.status, READY), ("False", AT_CAPACITY));
        assert_eq!(full.events.iter().map(|e| e.reason.as_str()).collect::<Vec<_>>(), [AT_CAPACITY]);
        let full_acct = after(&ready, &full);
        assert!(account_status(&full_acct, 2, now()).events.is_empty());
        let freed = account_status(&full_acct, 1, now());
        assert_eq!(cond(&freed.status, READY), ("True", AVAILABLE));
        assert_eq!(freed.events.iter().map(|e| e.reason.as_str()).collect::<Vec<_>>(), [AVAILABLE]);
        assert!(freed.became_eligible);
    }

    #[test]
    fn the_patch_writes_only_what_the_controller_owns_and_is_guarded() {
        let a = account(
            None,
            Some(ClaudeAccountStatus {
                rate_limited_until: Some(now() - chrono::Duration::seconds(1)),
                ..Default::default()
            }),
        );
        let plan = account_status(&a, 0, now());
        let patch = status_patch(&a, &plan);
        assert_eq!(patch["metadata"]["resourceVersion"], "41");
        assert_eq!(patch["status"]["rateLimitedUntil"], serde_json::Value::Null);
        assert!(patch["status"].as_object().is_some_and(|s| s.contains_key("rateLimitedUntil")), "null clears it");
        assert!(patch["status"].get("usage").is_none(), "usage is the session controller's");
        let steady = after(&a, &plan);
        let patch = status_patch(&steady, &account_status(&steady, 0, now()));
        assert!(patch["status"].get("rateLimitedUntil").is_none(), "a limit is never written from a stale view");
    }
}
