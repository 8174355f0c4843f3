//! The REST API of a real `cockpit serve`: validation, origins, audit, the change stream,
//! persistence across restarts (SQLite and PostgreSQL).

use crate::support::harness;
use crate::support::pg;

use std::path::Path;
use std::time::Duration;

use cockpit_api::SessionPhase;
use harness::*;

/// A stand-in CLI: prints what it was given and a few lines, then exits with the code in
/// `EXIT_CODE` (0 by default) after `LINGER` seconds.
fn config(dir: &Path) -> String {
    script_config(
        dir,
        "fake-cli.sh",
        "echo \"fake cli in $PWD\"\nfor i in $(seq 1 20); do echo \"line $i\"; done\necho END-MARK\nsleep \"${LINGER:-0.5}\"\nexit \"${EXIT_CODE:-0}\"\n",
    )
}

async fn start(dir: &Path, extra: &[(&str, &str)]) -> Cockpit {
    let mut env = vec![("TOKEN_ALPHA", "sk-ant-oat01-api-test-secret-value")];
    env.extend_from_slice(extra);
    Cockpit::start(dir, &config(dir), &env).await
}

async fn error_of(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.expect("error bodies are JSON");
    (status, body["error"].as_str().expect("an error message").to_owned())
}

#[tokio::test]
async fn bad_requests_get_clear_4xx_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let cockpit = start(dir.path(), &[]).await;
    let ok = cockpit.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "keep"})).await;
    assert_eq!(ok.status(), 201);
    let http = &cockpit.http;

    let raw = |body: &'static str| {
        http.post(cockpit.url("/api/sessions")).header("content-type", "application/json").body(body).send()
    };
    let (status, message) = error_of(raw("{not json").await.expect("post")).await;
    assert_eq!(status, 400);
    assert!(message.contains("JSON"), "{message}");
    let (status, _) = error_of(http.post(cockpit.url("/api/sessions")).body("{}").send().await.expect("post")).await;
    assert_eq!(status, 400, "no content type");

    let cases = [
        (serde_json::json!({"repo_name": "nope"}), 400, "unknown repo"),
        (serde_json::json!({"repo_name": "demo", "account_id": "ghost"}), 400, "unknown account"),
        (serde_json::json!({"repo_name": "demo", "name": "Bad Name!"}), 400, "invalid name"),
        (serde_json::json!({"repo_name": "demo", "name": "keep"}), 409, "already exists"),
        (serde_json::json!({"repo_name": "demo", "mode": "Oneshot"}), 400, "needs a prompt"),
        (serde_json::json!({"repo_name": "demo", "surprise": 1}), 400, "unknown field"),
        (serde_json::json!({"repo_name": 7}), 400, "invalid type"),
        (serde_json::json!({"repo_name": "demo", "prompt": "a\u{0}b"}), 400, "control characters"),
        (serde_json::json!({"repo_name": "demo", "model": "son\u{0}net"}), 400, "invalid model"),
    ];
    for (body, want, words) in cases {
        let (status, message) = error_of(cockpit.post("/api/sessions", body.clone()).await).await;
        assert_eq!(status, want, "{body} → {message}");
        assert!(message.contains(words), "{body} → {message:?} should say {words:?}");
    }
    let huge = serde_json::json!({"repo_name": "demo", "prompt": "x".repeat(200_000)});
    // The server refuses without reading the body and closes: no keep-alive for this one.
    let resp =
        http.post(cockpit.url("/api/sessions")).header("connection", "close").json(&huge).send().await.expect("post");
    assert_eq!(resp.status(), 413);

    for (path, want) in [
        ("/api/sessions/ghost/send", 404),
        ("/api/sessions/keep/approval", 404),
        ("/api/accounts/ghost/reset-limit", 404),
    ] {
        let body = if path.ends_with("approval") {
            serde_json::json!({"id": "x", "decision": "allow"})
        } else {
            serde_json::json!({"text": "hi"})
        };
        let status = cockpit.post(path, body).await.status().as_u16();
        assert_eq!(status, want, "{path}");
    }
    assert_eq!(http.delete(cockpit.url("/api/sessions/ghost")).send().await.expect("delete").status(), 404);
    assert_eq!(http.get(cockpit.url("/api/sessions/keep/history?limit=0")).send().await.expect("get").status(), 400);
    assert_eq!(http.get(cockpit.url("/api/nothing")).send().await.expect("get").status(), 404);
    assert_eq!(http.get(cockpit.url("/api/sessions/a%00b")).send().await.expect("get").status(), 400);
    let (status, _) = error_of(http.put(cockpit.url("/api/sessions")).send().await.expect("put")).await;
    assert_eq!(status, 405, "wrong methods get a JSON error too");

    let sessions = cockpit.get_json("/api/sessions").await;
    let names: Vec<&str> = sessions.as_array().expect("list").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["keep"], "nothing else was created");

    let metrics = http.get(cockpit.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(
        metrics.contains("cockpit_sessions{phase=\"Pending\"}")
            || metrics.contains("cockpit_sessions{phase=\"Starting\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("cockpit_accounts 1"), "{metrics}");

    // No secret in any response.
    for path in ["/api/accounts", "/api/health", "/api/sessions"] {
        let text = http.get(cockpit.url(path)).send().await.expect("get").text().await.expect("text");
        assert!(!text.contains("api-test-secret-value"), "{path} leaks the token");
    }
}

#[tokio::test]
async fn foreign_origins_are_refused_and_actions_are_audited() {
    let dir = tempfile::tempdir().expect("tmp");
    let cockpit = start(dir.path(), &[]).await;
    let http = &cockpit.http;
    let evil = http
        .post(cockpit.url("/api/sessions"))
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({"repo_name": "demo"}))
        .send()
        .await
        .expect("post");
    assert_eq!(evil.status(), 403);
    let host = cockpit.base.trim_start_matches("http://").to_owned();
    let same = http
        .post(cockpit.url("/api/sessions"))
        .header("origin", format!("http://{host}"))
        .header("tailscale-user-login", "owner@example.com")
        .json(&serde_json::json!({"repo_name": "demo", "name": "mine"}))
        .send()
        .await
        .expect("post");
    assert_eq!(same.status(), 201);
    let ws = tokio_tungstenite::connect_async(
        tokio_tungstenite::tungstenite::http::Request::builder()
            .uri(cockpit.ws_url("mine", None))
            .header("origin", "https://evil.example")
            .header("host", &host)
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .body(())
            .expect("request"),
    )
    .await;
    match ws {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("a foreign origin got a WebSocket: {other:?}"),
    }
    drop(cockpit);
    let store =
        cockpit_operator::store::Store::connect(&format!("sqlite://{}", dir.path().join("data/cockpit.db").display()))
            .await
            .expect("store");
    let audit = store.list_audit(10).await.expect("audit");
    assert!(audit.iter().any(|a| a.action == "create" && a.actor.as_deref() == Some("owner@example.com")), "{audit:?}");
}

#[tokio::test]
async fn the_change_stream_reports_new_sessions() {
    let dir = tempfile::tempdir().expect("tmp");
    let cockpit = start(dir.path(), &[]).await;
    let resp = cockpit.http.get(cockpit.url("/api/events")).send().await.expect("events");
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp;
    let mut text = String::new();
    while !text.contains("event: ready") {
        let chunk = tokio::time::timeout(T, body.chunk()).await.expect("in time").expect("readable").expect("a chunk");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(
        cockpit.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "watched"})).await.status(),
        201
    );
    while !text.contains("\"name\":\"watched\"") {
        let chunk = tokio::time::timeout(T, body.chunk()).await.expect("in time").expect("readable").expect("a chunk");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: change"));
}

#[tokio::test]
async fn without_a_config_it_starts_and_says_what_is_missing() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cockpit = Cockpit::start(dir.path(), "{}\n", &[]).await;
    let health = cockpit.get_json("/api/health").await;
    assert_eq!(health["status"], "degraded");
    assert!(
        health["hints"].as_array().is_some_and(|h| h.iter().any(|x| x.as_str().is_some_and(|s| s.contains("repo")))),
        "{health}"
    );
    assert_eq!(cockpit.stop().await.code(), Some(0));
}

#[tokio::test]
async fn an_invalid_config_stops_start_up_naming_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("bad.yaml");
    std::fs::write(&config, "repos:\n  - name: demo\n    path: /nonexistent/repo\n").expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml") && stderr.contains(":3") && stderr.contains("repos[0].path"), "{stderr}");
}

async fn lifecycle_survives_a_restart(extra: &[(&str, &str)]) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut cockpit = start(dir.path(), extra).await;
    assert_eq!(
        cockpit.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "short"})).await.status(),
        201
    );
    let done =
        cockpit.wait_session("short", "the fake CLI to finish", |s| s.status.phase == SessionPhase::Succeeded).await;
    assert_eq!(done.status.exit_code, Some(0));
    assert!(cockpit.screen("short").await.contains("END-MARK"));
    assert_eq!(cockpit.stop().await.code(), Some(0));

    cockpit.restart().await;
    let after = cockpit.session("short").await;
    assert_eq!(after.status.phase, SessionPhase::Succeeded);
    let history = cockpit.get_json("/api/sessions/short/history").await;
    assert!(history["entries"].as_array().is_some_and(|e| e.len() >= 3), "{history}");
    // The ended session's output is replayed from the database.
    let mut ws = connect(&cockpit.ws_url("short", Some(0))).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, "the persisted output", |s| contains(&s.output, b"END-MARK")).await;
    assert!(contains(&seen.output, b"line 20"));
    // DELETE keeps the history.
    let deleted = cockpit.http.delete(cockpit.url("/api/sessions/short")).send().await.expect("delete");
    assert_eq!(deleted.status(), 200);
    let listed = cockpit.get_json("/api/sessions").await;
    assert!(listed.as_array().is_some_and(|l| l.is_empty()));
    let history = cockpit.get_json(&format!("/api/sessions/{}/history", after.id)).await;
    assert!(history["entries"].as_array().is_some_and(|e| !e.is_empty()));
}

#[tokio::test]
async fn sessions_history_and_output_survive_a_restart_on_sqlite() {
    lifecycle_survives_a_restart(&[]).await;
}

#[tokio::test]
async fn sessions_history_and_output_survive_a_restart_on_postgres() {
    let server = pg::start().await;
    let url = server.create_database("cockpit_api").await;
    lifecycle_survives_a_restart(&[("DATABASE_URL", url.as_str())]).await;
    let _ = Duration::from_secs(0);
}

#[tokio::test]
async fn the_built_pwa_is_served_with_api_paths_still_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(dist.join("assets")).expect("mkdir");
    std::fs::write(dist.join("index.html"), "<!doctype html><title>Cockpit</title>").expect("index");
    std::fs::write(dist.join("assets/app.js"), "console.log('app')").expect("js");
    let gz = std::process::Command::new("gzip").arg("-k").arg(dist.join("assets/app.js")).status().expect("gzip");
    assert!(gz.success());
    let pwa = dist.to_string_lossy().into_owned();
    let cockpit = start(dir.path(), &[("COCKPIT_PWA_DIR", pwa.as_str())]).await;
    let http = &cockpit.http;
    let index = http.get(cockpit.url("/")).send().await.expect("get");
    assert_eq!(index.status(), 200);
    assert!(index.text().await.expect("text").contains("<title>Cockpit</title>"));
    let route = http.get(cockpit.url("/sessions/abc")).send().await.expect("get").text().await.expect("text");
    assert!(route.contains("<title>Cockpit</title>"), "client-side routes get index.html");
    let js = http.get(cockpit.url("/assets/app.js")).header("accept-encoding", "gzip").send().await.expect("get");
    assert_eq!(js.headers().get("content-encoding").map(|v| v.as_bytes()), Some(&b"gzip"[..]));
    let (status, message) = error_of(http.get(cockpit.url("/api/nothing")).send().await.expect("get")).await;
    assert_eq!((status, message.as_str()), (404, "no such endpoint"));
    assert_eq!(cockpit.get_json("/api/health").await["status"], "ok");
}

/// Writes a whole request (headers, then every body byte) before reading anything, as most
/// HTTP client libraries do, and returns the response as text.
fn naive_request(addr: &str, head: &str, body: &[u8]) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// A body over the limit, sent whole without `Expect: 100-continue`, gets a readable 413 (not
/// a connection reset), declared or chunked, and nothing is created.
#[tokio::test]
async fn an_oversized_body_gets_a_413_the_client_can_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let cockpit = start(dir.path(), &[]).await;
    let addr = cockpit.url("").trim_start_matches("http://").trim_end_matches('/').to_owned();
    let declared = vec![b'a'; 12 << 20];
    let mut chunked = Vec::new();
    for _ in 0..32 {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunked.extend(std::iter::repeat_n(b'b', 64 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let results = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for _ in 0..5 {
            let head = format!(
                "POST /api/sessions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                declared.len()
            );
            out.push(naive_request(&addr, &head, &declared));
            let head = format!(
                "POST /api/sessions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            );
            out.push(naive_request(&addr, &head, &chunked));
        }
        // A small chunked body is read and handled as usual.
        let head = format!(
            "POST /api/sessions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        let small = naive_request(&addr, &head, b"2\r\n{}\r\n0\r\n\r\n").expect("answer");
        assert!(small.starts_with("HTTP/1.1 400"), "{small}");
        out
    })
    .await
    .expect("joined");
    for result in results {
        let response = result.expect("the client reads an answer, not a reset");
        assert!(response.starts_with("HTTP/1.1 413"), "{}", &response[..response.len().min(300)]);
        assert!(response.contains("too_large"), "{response}");
    }
    let sessions = cockpit.get_json("/api/sessions").await;
    assert_eq!(sessions.as_array().map(Vec::len), Some(0), "nothing was created");
}
