//! The `ClaudeAccount` controller against the API server stand-in (`support/apiserver.rs`), over
//! HTTP with the real kube client and kube-runtime: `activeSessions` follows the account's
//! worker Pods, a limit in force makes it unready, a limit that passed is cleared by itself
//! (with an Event), capacity shows in `Ready`, and a decision made on a stale view never
//! erases a newer limit.

use crate::support::apiserver;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiserver::{ApiServer, PatchKind};
use chrono::Utc;
use cockpit_api::ClaudeAccount;
use cockpit_operator::k8s::account::{AccountContext, reconcile_account, run};
use kube::runtime::events::{Recorder, Reporter};
use serde_json::{Value, json};

const NS: &str = "cockpit";
const T: Duration = Duration::from_secs(60);

fn account(api: &ApiServer, name: &str, max_sessions: Option<u32>) {
    let mut spec = json!({"credentials": {"secretName": format!("claude-{name}")}, "priority": 1});
    if let Some(max) = max_sessions {
        spec["maxSessions"] = json!(max);
    }
    api.create(
        "claudeaccounts",
        NS,
        json!({"apiVersion": "cockpit.dev/v1alpha1", "kind": "ClaudeAccount", "metadata": {"name": name}, "spec": spec}),
    )
    .expect("account");
}

fn set_status(api: &ApiServer, name: &str, status: Value) {
    api.patch("claudeaccounts", NS, name, true, PatchKind::Merge, json!({ "status": status })).expect("status");
}

/// A worker Pod of `account` in `phase`.
fn pod(api: &ApiServer, name: &str, account: &str, phase: &str) {
    api.create(
        "pods",
        NS,
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "labels": {"app.kubernetes.io/component": "worker", "cockpit.dev/account": account}},
               "spec": {"nodeName": "node", "containers": [{"name": "worker", "image": "w"}]}}),
    )
    .expect("pod");
    api.patch("pods", NS, name, true, PatchKind::Merge, json!({"status": {"phase": phase}})).expect("pod status");
}

fn condition(obj: &Value, type_: &str) -> (String, String) {
    let found = obj["status"]["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == type_));
    match found {
        Some(c) => (c["status"].as_str().unwrap_or_default().into(), c["reason"].as_str().unwrap_or_default().into()),
        None => (String::new(), String::new()),
    }
}

/// Polls the account until `pred` holds (60 s at most).
async fn wait_account(api: &ApiServer, name: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        if let Some(obj) = api.get("claudeaccounts", NS, name).filter(|a| pred(a)) {
            return obj;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {name}: {what}: {:#}",
            api.get("claudeaccounts", NS, name).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_event(api: &ApiServer, account: &str, reason: &str) -> Value {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let found =
            api.list("events", NS, "").into_iter().find(|e| e["regarding"]["name"] == account && e["reason"] == reason);
        if let Some(event) = found {
            return event;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {reason} event for {account}: {:#?}",
            api.list("events", NS, "")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn context(api: &ApiServer, eligible: Arc<Mutex<Vec<String>>>) -> Arc<AccountContext> {
    let client = api.client(NS);
    Arc::new(AccountContext {
        recorder: Some(Recorder::new(client.clone(), Reporter { controller: "cockpit".into(), instance: None })),
        client,
        on_eligible: Some(Box::new(move |name: &str| {
            eligible.lock().unwrap_or_else(|p| p.into_inner()).push(name.to_owned())
        })),
    })
}

#[tokio::test]
async fn account_status_follows_pods_and_limits_and_a_passed_limit_clears_itself() {
    let api = ApiServer::start().await;
    let past = Utc::now() - chrono::Duration::hours(1);
    let future = Utc::now() + chrono::Duration::hours(1);
    account(&api, "alpha", Some(2));
    account(&api, "beta", None);
    account(&api, "gamma", None);
    // beta's limit passed while nobody looked; gamma's is in force.
    set_status(
        &api,
        "beta",
        json!({"rateLimitedUntil": past, "rateLimitWindow": "session", "usage": {"sessions": 4, "inputTokens": 10, "outputTokens": 20, "costUsd": 0.5}}),
    );
    set_status(&api, "gamma", json!({"rateLimitedUntil": future, "rateLimitWindow": "weekly"}));
    pod(&api, "a1", "alpha", "Running");
    pod(&api, "a2", "alpha", "Pending");
    pod(&api, "a3", "alpha", "Succeeded");
    pod(&api, "a4", "alpha", "Running");
    api.delete("pods", NS, "a4", None).expect("graceful delete");
    assert!(
        api.get("pods", NS, "a4").is_some_and(|p| p["metadata"]["deletionTimestamp"].is_string()),
        "a4 is terminating"
    );

    let eligible = Arc::new(Mutex::new(Vec::new()));
    let ctx = context(&api, eligible.clone());
    let controller = tokio::spawn(async move { run(ctx, NS).await });

    // alpha: two live pods (a succeeded one and a terminating one do not count), at its maximum.
    let alpha = wait_account(&api, "alpha", "two sessions, at capacity", |a| {
        a["status"]["activeSessions"] == 2 && condition(a, "Ready").1 == "AtCapacity"
    })
    .await;
    assert_eq!(condition(&alpha, "Ready").0, "False");
    assert_eq!(condition(&alpha, "RateLimited"), ("False".into(), "NotLimited".into()));
    assert_eq!(alpha["status"]["conditions"][0]["observedGeneration"], alpha["metadata"]["generation"]);

    // beta: the passed limit is cleared by itself, told by an Event; its usage is untouched.
    let beta = wait_account(&api, "beta", "the limit cleared", |a| condition(a, "RateLimited").1 == "LimitReset").await;
    assert!(
        beta["status"].get("rateLimitedUntil").is_none() && beta["status"].get("rateLimitWindow").is_none(),
        "{beta:#}"
    );
    assert_eq!(condition(&beta, "Ready"), ("True".into(), "Available".into()));
    assert_eq!(beta["status"]["usage"]["sessions"], 4);
    let reset = wait_event(&api, "beta", "LimitReset").await;
    assert_eq!(reset["type"], "Normal");

    // gamma: limited, not ready, and a warning Event.
    let gamma = wait_account(&api, "gamma", "marked limited", |a| condition(a, "RateLimited").0 == "True").await;
    assert_eq!(condition(&gamma, "Ready"), ("False".into(), "RateLimited".into()));
    let until: chrono::DateTime<Utc> =
        serde_json::from_value(gamma["status"]["rateLimitedUntil"].clone()).expect("until");
    assert_eq!(until.timestamp(), future.timestamp(), "a limit in force is kept");
    let warning = wait_event(&api, "gamma", "RateLimited").await;
    assert_eq!(warning["type"], "Warning");
    assert!(warning["note"].as_str().is_some_and(|n| n.contains("weekly usage limit until")), "{warning:#}");

    // A pod of alpha ends: one session, ready again, and whoever waits is told.
    api.patch("pods", NS, "a2", true, PatchKind::Merge, json!({"status": {"phase": "Failed"}})).expect("a2 ends");
    let alpha = wait_account(&api, "alpha", "one session", |a| a["status"]["activeSessions"] == 1).await;
    assert_eq!(condition(&alpha, "Ready"), ("True".into(), "Available".into()));
    wait_event(&api, "alpha", "Available").await;
    let told = eligible.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(told.contains(&"alpha".to_owned()) && told.contains(&"beta".to_owned()), "{told:?}");
    assert!(!told.contains(&"gamma".to_owned()), "gamma is still limited: {told:?}");

    // A short limit (as the session controller sets it) is in force, then passes by itself.
    let soon = Utc::now() + chrono::Duration::seconds(2);
    set_status(&api, "alpha", json!({"rateLimitedUntil": soon, "rateLimitWindow": "session"}));
    wait_account(&api, "alpha", "limited", |a| condition(a, "RateLimited").0 == "True").await;
    let cleared = wait_account(&api, "alpha", "the short limit cleared by itself", |a| {
        condition(a, "RateLimited").1 == "LimitReset"
    })
    .await;
    assert!(cleared["status"].get("rateLimitedUntil").is_none(), "{cleared:#}");
    assert_eq!(condition(&cleared, "Ready").0, "True");
    controller.abort();
}

#[tokio::test]
async fn a_decision_on_a_stale_view_never_erases_a_newer_limit() {
    let api = ApiServer::start().await;
    account(&api, "alpha", None);
    set_status(&api, "alpha", json!({"rateLimitedUntil": Utc::now() - chrono::Duration::minutes(5)}));
    let stale: ClaudeAccount =
        serde_json::from_value(api.get("claudeaccounts", NS, "alpha").expect("alpha")).expect("typed");
    // Meanwhile a worker hits a new limit on it.
    let fresh = Utc::now() + chrono::Duration::hours(3);
    set_status(&api, "alpha", json!({"rateLimitedUntil": fresh}));

    let ctx = context(&api, Arc::default());
    let err = reconcile_account(Arc::new(stale), ctx.clone()).await.expect_err("a conflict");
    assert!(err.to_string().contains("409") || err.to_string().contains("modified"), "{err}");
    let now = api.get("claudeaccounts", NS, "alpha").expect("alpha");
    let until: chrono::DateTime<Utc> = serde_json::from_value(now["status"]["rateLimitedUntil"].clone()).expect("kept");
    assert_eq!(until.timestamp(), fresh.timestamp());

    // Looked at again with the current object, it is marked limited.
    let current: ClaudeAccount = serde_json::from_value(now).expect("typed");
    reconcile_account(Arc::new(current), ctx).await.expect("reconciled");
    let after = api.get("claudeaccounts", NS, "alpha").expect("alpha");
    assert_eq!(condition(&after, "RateLimited"), ("True".into(), "UsageLimit".into()));
}
