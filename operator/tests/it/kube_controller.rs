//! The Kubernetes adapter against an HTTP-level stand-in for the API server (kube-rs's
//! `tower-test` pattern): every request the controller makes is checked, and answered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cockpit_api::{
    Activity, ClaudeSession, PlanUtilization, RateLimit, RateLimitWindow, SessionCost, SessionMode, StatusReport,
    UsageWindow, WorkerState,
};
use cockpit_operator::k8s::controller::{Context, FINALIZER, apply, error_policy, reconcile_session};
use cockpit_operator::k8s::pod::PodSettings;
use cockpit_operator::worker_credentials::WorkerKeys;
use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

type ApiHandle = Handle<Request<Body>, Response<Body>>;

/// A controller context on a mocked API server (whose requests come to the handle), with the
/// repo and the data directory in a temporary directory (kept as long as it is).
fn controller() -> (tempfile::TempDir, Arc<Context>, ApiHandle) {
    let dir = tempfile::tempdir().expect("tmp");
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let ctx = Arc::new(Context {
        client: kube::Client::new(service, "ns"),
        pods: PodSettings::default(),
        repos: HashMap::from([("web".to_owned(), dir.path().to_owned())]),
        data_dir: dir.path().join("data"),
        worker_states: Arc::new(Mutex::new(HashMap::new())),
        recorder: None,
        max_sessions: 8,
        follow: None,
        failures: Mutex::default(),
        terminal_size: None,
        worker_keys: Some(WorkerKeys::from_key([3; 32])),
        notes: None,
    });
    (dir, ctx, handle)
}

const SECRETS: &str = "/api/v1/namespaces/ns/secrets";

/// Answers the apply of the session's worker credential Secret; returns what was applied.
async fn expect_credential_secret(handle: &mut ApiHandle) -> Value {
    let secret = expect(
        handle,
        "PATCH",
        &format!("{SECRETS}/cockpit-worker-uid-1?&force=true&fieldManager=cockpit"),
        201,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cockpit-worker-uid-1", "namespace": "ns"}}),
    )
    .await;
    let credential = WorkerKeys::from_key([3; 32]).credential(&"uid-1".into());
    use base64::Engine;
    assert_eq!(
        secret["data"]["credential"],
        base64::engine::general_purpose::STANDARD.encode(credential.expose()),
        "the session's derived credential"
    );
    assert_eq!(secret["metadata"]["ownerReferences"][0]["uid"], "uid-1", "goes with its session");
    secret
}

fn session(status: Value, deleting: bool) -> ClaudeSession {
    let mut meta =
        json!({"name": "fix", "namespace": "ns", "uid": "uid-1", "generation": 2, "finalizers": [FINALIZER]});
    if deleting {
        meta["deletionTimestamp"] = json!("2026-11-25T12:00:00Z");
    }
    serde_json::from_value(json!({
        "apiVersion": "cockpit.dev/v1alpha1", "kind": "ClaudeSession", "metadata": meta,
        "spec": {"repo": "web", "prompt": "fix the tests"}, "status": status,
    }))
    .expect("session")
}

fn session_json() -> Value {
    serde_json::to_value(session(json!({}), false)).expect("json")
}

fn account(name: &str, priority: i32) -> Value {
    json!({"apiVersion": "cockpit.dev/v1alpha1", "kind": "ClaudeAccount",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"credentials": {"secretName": format!("claude-{name}"), "key": "token"}, "priority": priority}})
}

fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "1"}, "items": items})
}

fn worker_pod(name: &str, account: &str, phase: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "ns", "creationTimestamp": "2026-11-25T11:00:00Z",
            "labels": {"app.kubernetes.io/component": "worker", "cockpit.dev/session": "fix", "cockpit.dev/account": account}},
        "spec": {"containers": [{"name": "worker", "image": "i"}]},
        "status": {"phase": phase, "podIP": "10.42.0.9"}})
}

/// Takes the next request, checks its method and path, answers with `status` and `body`, and
/// returns the request body.
async fn expect(handle: &mut ApiHandle, method: &str, path: &str, status: u16, body: Value) -> Value {
    let (request, respond) = handle.next_request().await.expect("the controller made a request");
    assert_eq!(request.method().as_str(), method, "{}", request.uri());
    let uri = request.uri().to_string();
    assert!(uri.starts_with(path), "expected {method} {path}, got {uri}");
    let bytes = request.into_body().collect_bytes().await.expect("body");
    let sent = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    let response = Response::builder()
        .status(status)
        .body(Body::from(serde_json::to_vec(&body).expect("json")))
        .expect("response");
    respond.send_response(response);
    sent
}

const PODS: &str = "/api/v1/namespaces/ns/pods";
const ACCOUNTS: &str = "/apis/cockpit.dev/v1alpha1/namespaces/ns/claudeaccounts";
const SESSIONS: &str = "/apis/cockpit.dev/v1alpha1/namespaces/ns/claudesessions";

/// Answers the listing of the worker pods with `pods`.
async fn expect_pods(handle: &mut ApiHandle, pods: Vec<Value>) {
    expect(handle, "GET", PODS, 200, list("PodList", pods)).await;
}

/// Answers the listing of the accounts with `accounts`.
async fn expect_accounts(handle: &mut ApiHandle, accounts: Vec<Value>) {
    expect(handle, "GET", ACCOUNTS, 200, list("ClaudeAccountList", accounts)).await;
}

/// Answers the deletion of the old worker pod (on `high`).
async fn expect_old_pod_deleted(handle: &mut ApiHandle) {
    let old = worker_pod("cockpit-fix-old", "high", "Running");
    expect(handle, "DELETE", &format!("{PODS}/cockpit-fix-old"), 200, old).await;
}

/// Answers the apply of the worker credential and the creation of the worker pod `name` on
/// `account` (checked); returns the pod as sent.
async fn expect_pod_started(handle: &mut ApiHandle, name: &str, account: &str) -> Value {
    expect_credential_secret(handle).await;
    let pod = expect(handle, "POST", PODS, 201, worker_pod(name, account, "Pending")).await;
    assert_eq!(pod["metadata"]["labels"]["cockpit.dev/account"], account);
    pod
}

/// Answers the session's status patch; returns what was sent.
async fn expect_session_status(handle: &mut ApiHandle) -> Value {
    expect(handle, "PATCH", &format!("{SESSIONS}/fix/status"), 200, session_json()).await
}

#[tokio::test]
async fn a_new_session_gets_a_worker_pod_on_the_best_account_and_a_status() {
    let (_dir, ctx, mut handle) = controller();
    let s = session(json!({}), false);
    let run = tokio::spawn(async move { apply(&s, &ctx, false).await });

    expect(
        &mut handle,
        "GET",
        &format!("{PODS}?&labelSelector=app.kubernetes.io%2Fcomponent%3Dworker"),
        200,
        list("PodList", vec![]),
    )
    .await;
    expect_accounts(&mut handle, vec![account("low", 1), account("high", 9)]).await;
    let pod = expect_pod_started(&mut handle, "cockpit-fix-abcde", "high").await;
    let env = &pod["spec"]["containers"][0]["env"];
    assert_eq!(env[0]["name"], "COCKPIT_WORKER_CREDENTIAL");
    assert_eq!(env[0]["valueFrom"]["secretKeyRef"]["name"], "cockpit-worker-uid-1");
    assert!(!env.to_string().contains("claude-high"), "the CLI's container gets no account Secret");
    let proxy = pod["spec"]["containers"][1]["env"].to_string();
    assert!(proxy.contains("\"name\":\"claude-high\""), "the proxy container's: {proxy}");
    assert_eq!(pod["metadata"]["ownerReferences"][0]["uid"], "uid-1");
    let args = pod["spec"]["containers"][0]["args"].to_string();
    assert!(args.contains("--session-id") && args.contains("fix the tests"), "{args}");
    let status = expect_session_status(&mut handle).await;
    assert_eq!(status["status"]["phase"], "Starting");
    assert_eq!(status["status"]["account"], "high");
    assert!(status["status"]["claudeSessionId"].as_str().is_some_and(|id| id.len() == 36));
    assert_eq!(status["status"]["observedGeneration"], 2);
    assert!(
        status["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|x| x["type"] == "AccountAssigned" && x["status"] == "True"))
    );
    run.await.expect("joined").expect("reconciled");
}

#[tokio::test]
async fn a_limit_hit_marks_the_account_and_replaces_the_pod_on_the_next_account() {
    let (_dir, ctx, mut handle) = controller();
    let reset = chrono::Utc::now() + chrono::Duration::hours(2);
    ctx.worker_states.lock().expect("lock").insert(
        "cockpit-fix-old".into(),
        WorkerState {
            activity: Activity::RateLimited,
            claude_session_id: Some("11111111-2222-3333-4444-555555555555".into()),
            end_offset: 99,
            rate_limit: Some(RateLimit {
                window: RateLimitWindow::Session,
                resets_at: Some(reset),
                message: "You've hit your session limit".into(),
            }),
            last_prompt: Some("keep going".into()),
            source: "hook".into(),
            ..WorkerState::starting(SessionMode::Interactive, 120, 40, chrono::Utc::now())
        },
    );
    let s = session(
        json!({"phase": "Running", "account": "high", "claudeSessionId": "11111111-2222-3333-4444-555555555555", "startedAt": "2026-11-25T11:00:00Z"}),
        false,
    );
    let run = tokio::spawn(async move { apply(&s, &ctx, false).await });

    expect_pods(&mut handle, vec![worker_pod("cockpit-fix-old", "high", "Running")]).await;
    expect_accounts(&mut handle, vec![account("low", 1), account("high", 9)]).await;
    let limited = expect(&mut handle, "PATCH", &format!("{ACCOUNTS}/high/status"), 200, account("high", 9)).await;
    assert_eq!(limited["status"]["rateLimitWindow"], "session");
    let until: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(limited["status"]["rateLimitedUntil"].clone()).expect("time");
    assert!((until - reset).num_seconds().abs() <= 1);
    expect_old_pod_deleted(&mut handle).await;
    let pod = expect_pod_started(&mut handle, "cockpit-fix-new", "low").await;
    let args = pod["spec"]["containers"][0]["args"].to_string();
    assert!(
        args.contains("--resume")
            && args.contains("11111111-2222-3333-4444-555555555555")
            && args.contains("keep going"),
        "{args}"
    );
    let status = expect_session_status(&mut handle).await;
    assert_eq!(status["status"]["account"], "low");
    assert_eq!(status["status"]["rotations"], 1);
    run.await.expect("joined").expect("reconciled");
}

/// The status line's figures reach the ClaudeAccount's status (utilization) and the session's
/// (cost); with the account past its `rotateAt` at the end of a turn, the Pod is replaced on the
/// next account with nothing re-sent.
#[tokio::test]
async fn reported_utilization_is_recorded_and_past_rotate_at_the_pod_moves_after_the_turn() {
    let (_dir, ctx, mut handle) = controller();
    let mut state = WorkerState::starting(SessionMode::Interactive, 120, 40, chrono::Utc::now());
    state.activity = Activity::Idle;
    state.source = "hook".into();
    state.claude_session_id = Some("11111111-2222-3333-4444-555555555555".into());
    state.report = Some(StatusReport {
        plan: Some(PlanUtilization {
            five_hour: Some(UsageWindow { used_percent: 93.0, resets_at: None }),
            seven_day: None,
            observed_at: chrono::Utc::now(),
        }),
        cost: Some(SessionCost { cost_usd: 0.75, input_tokens: 900, output_tokens: 90 }),
        context_percent: None,
        model: None,
    });
    ctx.worker_states.lock().expect("lock").insert("cockpit-fix-old".into(), state);
    let s = session(
        json!({"phase": "Running", "account": "high", "claudeSessionId": "11111111-2222-3333-4444-555555555555", "startedAt": "2026-11-25T11:00:00Z"}),
        false,
    );
    let run = tokio::spawn(async move { apply(&s, &ctx, false).await });

    expect_pods(&mut handle, vec![worker_pod("cockpit-fix-old", "high", "Running")]).await;
    let mut high = account("high", 9);
    high["spec"]["rotateAt"] = json!(90);
    expect_accounts(&mut handle, vec![account("low", 1), high.clone()]).await;
    let recorded = expect(&mut handle, "PATCH", &format!("{ACCOUNTS}/high/status"), 200, high.clone()).await;
    assert_eq!(recorded["status"]["utilization"]["fiveHour"]["usedPercent"], 93.0);
    expect_old_pod_deleted(&mut handle).await;
    let usage = expect(&mut handle, "PATCH", &format!("{ACCOUNTS}/high/status"), 200, high).await;
    assert_eq!(usage["status"]["usage"]["costUsd"], 0.75, "the old worker's cost goes to its account");
    let pod = expect_pod_started(&mut handle, "cockpit-fix-new", "low").await;
    let args = pod["spec"]["containers"][0]["args"].to_string();
    assert!(args.contains("--resume") && !args.contains("--prompt"), "the turn was over: nothing re-sent: {args}");
    let status = expect_session_status(&mut handle).await;
    assert_eq!(status["status"]["account"], "low");
    assert_eq!(status["status"]["rotations"], 1);
    assert_eq!(status["status"]["cost"]["costUsd"], 0.75);
    assert_eq!(status["status"]["costBeforeWorker"]["costUsd"], 0.75);
    assert!(status["status"].get("rateLimit").is_none(), "no limit was hit");
    run.await.expect("joined").expect("reconciled");
}

#[tokio::test]
async fn deleting_a_session_stops_its_worker_and_releases_the_finalizer() {
    let (_dir, ctx, mut handle) = controller();
    let s = Arc::new(session(json!({"phase": "Running", "account": "high"}), true));
    let fresh = serde_json::to_value(s.as_ref()).expect("json");
    let run = tokio::spawn(async move { reconcile_session(s, ctx).await });

    // The object as the API server has it now, not as the cache last saw it.
    expect(&mut handle, "GET", &format!("{SESSIONS}/fix"), 200, fresh).await;

    expect_pods(&mut handle, vec![worker_pod("cockpit-fix-old", "high", "Running")]).await;
    expect_accounts(&mut handle, vec![account("high", 9)]).await;
    expect_old_pod_deleted(&mut handle).await;
    let status = expect_session_status(&mut handle).await;
    assert_eq!(status["status"]["phase"], "Stopped");
    let release = expect(&mut handle, "PATCH", &format!("{SESSIONS}/fix"), 200, session_json()).await;
    assert!(release.to_string().contains("/metadata/finalizers"), "the finalizer is removed: {release}");
    run.await.expect("joined").expect("cleaned up");
}

#[tokio::test]
async fn api_errors_fail_the_reconcile_and_are_retried() {
    let (_dir, ctx, mut handle) = controller();
    let s = session(json!({}), false);
    let c = ctx.clone();
    let run = tokio::spawn(async move { apply(&s, &c, false).await });
    expect(
        &mut handle,
        "GET",
        PODS,
        500,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "etcd is sad", "reason": "InternalError", "code": 500}),
    )
    .await;
    let err = run.await.expect("joined").expect_err("the reconcile fails");
    assert!(err.to_string().contains("etcd is sad"), "{err}");
    // Retried with backoff: 5 s, then twice as long each time, at most 5 minutes.
    let s = Arc::new(session(json!({}), false));
    let delays: Vec<u64> = (0..8)
        .map(|_| error_policy(s.clone(), &err, ctx.clone()))
        .map(|requeue| {
            let expected = |secs| kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(secs));
            [5, 10, 20, 40, 80, 160, 300].into_iter().find(|secs| requeue == expected(*secs)).unwrap_or(0)
        })
        .collect();
    assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300]);
    // A success starts over.
    let c = ctx.clone();
    let ok = tokio::spawn(async move { reconcile_session(Arc::new(session(json!({}), true)), c).await });
    let fresh = serde_json::to_value(session(json!({}), true)).expect("json");
    expect(&mut handle, "GET", &format!("{SESSIONS}/fix"), 200, fresh).await;
    expect_pods(&mut handle, vec![]).await;
    expect_accounts(&mut handle, vec![]).await;
    expect_session_status(&mut handle).await;
    expect(&mut handle, "PATCH", &format!("{SESSIONS}/fix"), 200, session_json()).await;
    ok.await.expect("joined").expect("reconciled");
    let requeue = error_policy(s, &err, ctx);
    assert_eq!(requeue, kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(5)));
}

#[tokio::test]
async fn a_reconcile_from_a_stale_cache_works_on_the_object_as_the_api_server_has_it() {
    // Right after a rotation: the cache still holds the session as it was on `high`; the API
    // server has it on `low` with one rotation, and the new pod runs.
    let (_dir, ctx, mut handle) = controller();
    let conversation = "11111111-2222-3333-4444-555555555555";
    let stale =
        Arc::new(session(json!({"phase": "Running", "account": "high", "claudeSessionId": conversation}), false));
    let fresh = serde_json::to_value(session(
        json!({"phase": "Starting", "account": "low", "claudeSessionId": conversation, "rotations": 1}),
        false,
    ))
    .expect("json");
    let mut limited = account("high", 9);
    limited["status"] = json!({"rateLimitedUntil": chrono::Utc::now() + chrono::Duration::hours(2)});
    let mut run = tokio::spawn(async move { reconcile_session(stale, ctx).await });

    expect(&mut handle, "GET", &format!("{SESSIONS}/fix"), 200, fresh).await;
    expect_pods(&mut handle, vec![worker_pod("cockpit-fix-new", "low", "Running")]).await;
    expect_accounts(&mut handle, vec![account("low", 1), limited]).await;
    // Whatever else it does: no pod is stopped or started, and the status keeps the rotation.
    loop {
        tokio::select! {
            done = &mut run => {
                done.expect("joined").expect("reconciled");
                break;
            }
            request = handle.next_request() => {
                // None: the reconcile is over (it dropped its client).
                let Some((request, respond)) = request else {
                    run.await.expect("joined").expect("reconciled");
                    break;
                };
                let what = format!("{} {}", request.method(), request.uri());
                assert!(what.starts_with(&format!("PATCH {SESSIONS}/fix/status")), "unexpected {what}");
                let bytes = request.into_body().collect_bytes().await.expect("body");
                let sent: Value = serde_json::from_slice(&bytes).expect("json");
                assert_eq!(sent["status"]["account"], "low", "{sent}");
                assert_eq!(sent["status"]["rotations"], 1, "{sent}");
                respond.send_response(
                    Response::builder().status(200).body(Body::from(serde_json::to_vec(&session_json()).expect("json"))).expect("response"),
                );
            }
        }
    }
}
