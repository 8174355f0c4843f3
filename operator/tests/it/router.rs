//! The REST API in process: the gateway's router over a real SQLite file and the local
//! backend, driven with `tower::ServiceExt::oneshot` (no socket, no controller: a created
//! session stays Pending). The many small cases of the API live here; the process-level
//! journeys (`api.rs`, `trust.rs`, `laptop.rs`, …) keep what needs real workers and sockets.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use cockpit_operator::app::App;
use cockpit_operator::config::Config;
use cockpit_operator::runtime::{LocalBackend, LocalRuntime, WorkerSettings};
use cockpit_operator::store::Store;
use cockpit_operator::streams::Streams;
use cockpit_operator::worker_credentials::WorkerKeys;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// A control plane with one repo (`demo`) and one account (`alpha`), its data in `dir`.
async fn app(dir: &std::path::Path) -> Arc<App> {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).expect("repo dir");
    let yaml = format!(
        "repos:\n  - name: demo\n    path: {}\naccounts:\n  - name: alpha\n    tokenEnv: COCKPIT_ROUTER_TEST_TOKEN\nallowedOrigins: [\"https://nuc.tailnet.ts.net\"]\n",
        repo.display()
    );
    let config = Config::from_yaml(&yaml, "router-test.yaml").expect("config");
    let store = Store::connect(&format!("sqlite://{}/cockpit.db", dir.display())).await.expect("store");
    for account in &config.accounts {
        store.upsert_account(&account.name, account.priority, account.max_sessions).await.expect("account");
    }
    let streams = Streams::new(store.clone());
    let keys = WorkerKeys::from_key([7; 32]);
    let (reconcile, _) = tokio::sync::mpsc::unbounded_channel();
    let settings = WorkerSettings {
        worker_bin: "cockpit-worker".into(),
        worker_args: Vec::new(),
        command: "claude".into(),
        ring_bytes: 8 << 20,
        claude_home: dir.join("claude-home"),
        log_dir: dir.join("logs"),
        grace_secs: 1,
    };
    let runtime = LocalRuntime::new(settings, store.clone(), streams.clone(), keys.clone(), reconcile.clone());
    Arc::new(App {
        config,
        config_source: None,
        store,
        backend: Arc::new(LocalBackend::new(runtime)),
        streams,
        worker_keys: keys,
        data_dir: dir.to_path_buf(),
        changes: tokio::sync::broadcast::channel(16).0,
        reconcile,
        claude_version: None,
        shutdown: tokio::sync::watch::channel(false).0,
    })
}

fn router(app: &Arc<App>) -> Router {
    cockpit_operator::gateway::router(app.clone(), None)
}

/// An app in a temporary directory (kept as long as it is) and its router.
async fn routed() -> (tempfile::TempDir, Arc<App>, Router) {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path()).await;
    let router = router(&app);
    (dir, app, router)
}

/// One request; the status and the body (JSON when it parses, else a string).
async fn call(router: &Router, request: Request<Body>) -> (StatusCode, Value, String) {
    let response = router.clone().oneshot(request).await.expect("the router answers");
    let status = response.status();
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::String(text));
    (status, json, content_type)
}

fn json_request(method: Method, uri: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

fn get(uri: &str) -> Request<Body> {
    Request::builder().uri(uri).body(Body::empty()).expect("request")
}

async fn session_count(app: &App) -> usize {
    app.store.list_sessions(true).await.expect("sessions").len()
}

#[tokio::test]
async fn a_session_is_created_listed_and_deleted_with_its_history_kept() {
    let (_dir, app, router) = routed().await;
    let (status, body, _) = call(&router, get("/api/sessions")).await;
    assert_eq!((status, body), (StatusCode::OK, json!([])));

    let create = json!({"repo_name": "demo", "name": "fix-tests", "prompt": "fix the tests", "account_id": "alpha"});
    let (status, created, _) = call(&router, json_request(Method::POST, "/api/sessions", &create)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "fix-tests");
    assert_eq!(created["status"]["phase"], "Pending", "no controller runs here: {created}");
    assert_eq!(created["spec"]["permissionMode"], "default", "the permission mode is always passed on");
    let (status, again, _) = call(&router, json_request(Method::POST, "/api/sessions", &create)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert_eq!(session_count(&app).await, 1);

    let (status, list, _) = call(&router, get("/api/sessions")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");

    let delete = Request::builder().method(Method::DELETE).uri("/api/sessions/fix-tests").body(Body::empty());
    let (status, deleted, _) = call(&router, delete.expect("request")).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert!(deleted["deleted_at"].is_string(), "{deleted}");
    let (_, list, _) = call(&router, get("/api/sessions")).await;
    assert_eq!(list, json!([]), "a deleted session leaves the list");
    assert_eq!(session_count(&app).await, 1, "its history stays");
}

#[tokio::test]
async fn bad_requests_get_a_clear_error_and_change_nothing() {
    let (_dir, app, router) = routed().await;
    let cases: [(Request<Body>, &str); 7] = [
        (
            Request::builder()
                .method(Method::POST)
                .uri("/api/sessions")
                .body(Body::from(r#"{"repo_name":"demo"}"#))
                .expect("request"),
            "Content-Type: application/json",
        ),
        (
            Request::builder()
                .method(Method::POST)
                .uri("/api/sessions")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .expect("request"),
            "",
        ),
        (json_request(Method::POST, "/api/sessions", &json!({"repo_name": "nope"})), "configured repos: [\"demo\"]"),
        (
            json_request(Method::POST, "/api/sessions", &json!({"repo_name": "demo", "account_id": "nobody"})),
            "unknown account \"nobody\"",
        ),
        (
            json_request(Method::POST, "/api/sessions", &json!({"repo_name": "demo", "mode": "Oneshot"})),
            "a one-shot session needs a prompt",
        ),
        (
            json_request(Method::POST, "/api/sessions", &json!({"repo_name": "demo", "name": "Not_A_Name"})),
            "invalid name",
        ),
        (
            json_request(Method::POST, "/api/sessions", &json!({"repo_name": "demo", "prompt": "bell \u{7}"})),
            "control characters",
        ),
    ];
    for (request, says) in cases {
        let uri = request.uri().to_string();
        let (status, body, _) = call(&router, request).await;
        assert!(status.is_client_error(), "{uri}: {status} {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(!message.is_empty() && message.contains(says), "{uri}: {says:?} in {body}");
        assert_eq!(body["code"], "bad_request", "{uri}: {body}");
    }
    assert_eq!(session_count(&app).await, 0, "nothing was created");
    let (status, body, _) = call(&router, get("/api/sessions/nobody")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let reset = Request::builder().method(Method::POST).uri("/api/accounts/nobody/reset-limit").body(Body::empty());
    let (status, body, _) = call(&router, reset.expect("request")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// History and transcript pages: the paging words are checked alike (one extractor, one
/// paging type), a bad query is a 400 naming what is wrong, a good one pages.
#[tokio::test]
async fn pages_are_asked_for_with_checked_queries() {
    let (_dir, app, router) = routed().await;
    let create = json!({"repo_name": "demo", "name": "paged"});
    let (status, created, _) = call(&router, json_request(Method::POST, "/api/sessions", &create)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("an id").to_owned();
    for n in 0..3 {
        app.store.append_event(&id.as_str().into(), chrono::Utc::now(), "test", &json!({"n": n})).await.expect("event");
    }

    let refused = [
        ("/api/sessions/paged/history?limit=0", "limit must be between 1 and 500"),
        ("/api/sessions/paged/history?limit=501", "limit must be between 1 and 500"),
        ("/api/sessions/paged/history?page=2", "invalid query"),
        ("/api/sessions/paged/history?after=soon", "invalid query"),
        ("/api/sessions/paged/transcript?limit=0", "limit must be between 1 and 500"),
        ("/api/sessions/paged/transcript?after=-1", "invalid query"),
        ("/api/sessions/paged/conversation?after=nonsense", "conversation cursor"),
    ];
    for (uri, says) in refused {
        let (status, body, _) = call(&router, get(uri)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{uri}: {says:?} in {body}");
    }

    let (status, first, _) = call(&router, get("/api/sessions/paged/history?limit=2")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let entries = first["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{first}");
    let next = first["next"].as_i64().expect("a full page names the next");
    let (_, rest, _) = call(&router, get(&format!("/api/sessions/paged/history?after={next}&limit=100"))).await;
    let rest_entries = rest["entries"].as_array().expect("entries");
    assert!(!rest_entries.is_empty() && rest["next"].is_null(), "{rest}");
    let ids: Vec<i64> = entries.iter().chain(rest_entries).map(|e| e["id"].as_i64().expect("an id")).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order, none twice: {ids:?}");

    let (status, transcript, _) = call(&router, get("/api/sessions/paged/transcript")).await;
    assert_eq!(status, StatusCode::OK, "{transcript}");
    assert_eq!(transcript["entries"], json!([]), "no conversation yet: {transcript}");
}

#[tokio::test]
async fn a_foreign_page_or_a_rebinding_host_changes_nothing() {
    let (_dir, app, router) = routed().await;
    let create = json!({"repo_name": "demo", "name": "mine"});
    let mut from_page = json_request(Method::POST, "/api/sessions", &create);
    from_page.headers_mut().insert(header::ORIGIN, "https://evil.example".parse().expect("origin"));
    from_page.headers_mut().insert(header::HOST, "127.0.0.1:8080".parse().expect("host"));
    let (status, _, _) = call(&router, from_page).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut rebinding = json_request(Method::POST, "/api/sessions", &create);
    rebinding.headers_mut().insert(header::HOST, "evil.example:8080".parse().expect("host"));
    let (status, _, _) = call(&router, rebinding).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(session_count(&app).await, 0, "neither created anything");

    // The configured origin, on the tailnet name it is served at, may.
    let mut phone = json_request(Method::POST, "/api/sessions", &create);
    phone.headers_mut().insert(header::ORIGIN, "https://nuc.tailnet.ts.net".parse().expect("origin"));
    phone.headers_mut().insert(header::HOST, "nuc.tailnet.ts.net".parse().expect("host"));
    let (status, body, _) = call(&router, phone).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn health_metrics_accounts_and_repos_describe_the_control_plane() {
    let (_dir, _app, router) = routed().await;
    let create = json!({"repo_name": "demo", "name": "one"});
    let (status, _, _) = call(&router, json_request(Method::POST, "/api/sessions", &create)).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, health, _) = call(&router, get("/api/health")).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!((health["runtime"].as_str(), health["database"].as_str()), (Some("local"), Some("sqlite")));
    assert_eq!(health["sessions"]["total"], 1);
    assert!(
        health["hints"].to_string().contains("COCKPIT_ROUTER_TEST_TOKEN"),
        "the unset token variable is named, never a value: {health}"
    );

    let (status, metrics, content_type) = call(&router, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = metrics.as_str().expect("text");
    assert!(text.lines().any(|l| l == "cockpit_sessions{phase=\"Pending\"} 1"), "{text}");
    assert!(text.lines().any(|l| l == "cockpit_accounts 1"), "{text}");

    let (_, accounts, _) = call(&router, get("/api/accounts")).await;
    assert_eq!(accounts[0]["id"], "alpha", "{accounts}");
    assert!(!accounts.to_string().contains("COCKPIT_ROUTER_TEST_TOKEN"), "no credential source in the view");
    let (_, repos, _) = call(&router, get("/api/repos")).await;
    assert_eq!(repos, json!([{"name": "demo", "is_git": false}]));
}
