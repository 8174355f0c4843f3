//! Trust boundaries of a real `cockpit serve`, tried from the wrong side: a web page on a
//! rebinding host name, a page from a foreign origin, a local process that found a worker's
//! address; and the audit trail of everything typed into a CLI.

use crate::support::harness;

use std::path::Path;

use futures_util::{SinkExt, StreamExt};
use harness::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A stand-in CLI that echoes what is typed (the PTY echoes, `cat` prints it again).
fn config(dir: &Path) -> String {
    script_config(dir, "echo-cli.sh", "echo READY\nexec cat\n")
}

async fn start(dir: &Path) -> Cockpit {
    Cockpit::start(dir, &config(dir), &[("TOKEN_ALPHA", "sk-ant-oat01-trust-test-secret")]).await
}

/// A WebSocket upgrade of `url` with extra headers; the HTTP status when it is refused.
async fn ws_status(url: &str, headers: &[(&str, &str)]) -> Result<Ws, u16> {
    let mut request = url.into_client_request().expect("request");
    for (name, value) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("name");
        request.headers_mut().insert(name, value.parse().expect("header"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(other) => panic!("the upgrade failed otherwise: {other}"),
    }
}

async fn session_count(cockpit: &Cockpit) -> usize {
    cockpit.get_json("/api/sessions").await.as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_page_on_a_rebinding_host_or_a_foreign_origin_gets_nothing_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let cockpit = start(dir.path()).await;
    assert_eq!(
        cockpit.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "mine"})).await.status(),
        201
    );
    let before = session_count(&cockpit).await;
    let http = &cockpit.http;
    let port = cockpit.base.rsplit(':').next().expect("a port").to_owned();
    let evil_host = format!("evil.example:{port}");
    let evil_origin = format!("http://evil.example:{port}");

    // DNS rebinding: the page's own origin, on a name that now points at this machine.
    let requests = [
        http.get(cockpit.url("/api/sessions")),
        http.get(cockpit.url("/api/sessions/mine")),
        http.get(cockpit.url("/api/sessions/mine/screen")),
        http.get(cockpit.url("/api/events")),
        http.get(cockpit.url("/api/accounts")),
        http.get(cockpit.url("/")),
        http.post(cockpit.url("/api/sessions")).json(&serde_json::json!({"repo_name": "demo", "name": "evil"})),
        http.post(cockpit.url("/api/sessions/mine/send")).json(&serde_json::json!({"text": "touch /tmp/pwned"})),
        http.post(cockpit.url("/api/accounts/alpha/reset-limit")),
        http.delete(cockpit.url("/api/sessions/mine")),
    ];
    for request in requests {
        for origin in [Some(evil_origin.as_str()), None] {
            let mut request = request.try_clone().expect("clonable").header("host", &evil_host);
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            let resp = request.send().await.expect("answered");
            let url = resp.url().clone();
            assert_eq!(resp.status(), 421, "{url} with Host {evil_host} and Origin {origin:?}");
            let body = resp.text().await.expect("body");
            assert!(body.contains("allowedOrigins") && !body.contains("mine"), "{url}: {body}");
        }
    }
    let ws = ws_status(&cockpit.ws_url("mine", None), &[("host", &evil_host), ("origin", &evil_origin)]).await;
    assert_eq!(ws.err(), Some(421), "the terminal upgrade on a rebinding host");

    // The real host, but a page from elsewhere, or the right host with the wrong scheme.
    let host = cockpit.base.trim_start_matches("http://").to_owned();
    for origin in ["https://evil.example", &format!("https://{host}"), "null", &format!("http://{host}.evil.example")] {
        let resp = http
            .post(cockpit.url("/api/sessions/mine/send"))
            .header("origin", origin)
            .json(&serde_json::json!({"text": "touch /tmp/pwned"}))
            .send()
            .await
            .expect("answered");
        assert_eq!(resp.status(), 403, "Origin {origin}");
        let read = http.get(cockpit.url("/api/sessions")).header("origin", origin).send().await.expect("answered");
        assert_eq!(read.status(), 403, "a cross-origin read with Origin {origin}");
        let ws = ws_status(&cockpit.ws_url("mine", None), &[("origin", origin)]).await;
        assert_eq!(ws.err(), Some(403), "the terminal from Origin {origin}");
    }
    assert_eq!(session_count(&cockpit).await, before, "nothing was created or deleted");

    // The page the server itself serves, and tools without an Origin, still work.
    for (path, header, value) in [
        ("/api/sessions/mine", "origin", format!("http://{host}")),
        ("/api/health", "host", format!("localhost:{port}")),
    ] {
        let resp = http.get(cockpit.url(path)).header(header, &value).send().await.expect("answered");
        assert_eq!(resp.status(), 200, "{path} with {header} {value}");
    }
    let ws = ws_status(&cockpit.ws_url("mine", None), &[("origin", &format!("http://{host}"))]).await;
    assert!(ws.is_ok(), "the server's own page gets its terminal");
}

#[tokio::test]
async fn a_local_process_that_knows_a_workers_address_cannot_drive_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let cockpit = start(dir.path()).await;
    let view = cockpit.start_session("target").await;
    let other = cockpit.start_session("other").await;
    let endpoint = view.status.worker_endpoint.clone().expect("the address is published");
    assert!(endpoint.starts_with("127.0.0.1:"), "local workers listen on loopback only: {endpoint}");
    let credential = cockpit.worker_credential(&view.id).await;
    let others = cockpit.worker_credential(&other.id).await;
    assert_ne!(credential.expose(), others.expose());

    let url = format!("ws://{endpoint}/ws?from=0");
    let wrong = format!("Bearer {}", "0".repeat(64));
    let refusals: [(&[(&str, &str)], u16); 4] = [
        (&[], 401),
        (&[("authorization", &wrong)], 401),
        (&[("authorization", &others.bearer())], 401),
        (&[("authorization", &credential.bearer()), ("origin", "http://127.0.0.1")], 403),
    ];
    for (headers, status) in refusals {
        assert_eq!(ws_status(&url, headers).await.err(), Some(status), "{:?}", headers.first().map(|h| h.0));
    }
    let http = reqwest::Client::new();
    for path in ["/state", "/screen"] {
        let resp = http.get(format!("http://{endpoint}{path}")).send().await.expect("answered");
        assert_eq!(resp.status(), 401, "{path} without the credential");
    }
    assert_eq!(http.get(format!("http://{endpoint}/healthz")).send().await.expect("answered").status(), 200);

    // Only the control plane's credential drives it, and nothing typed by the refused
    // clients reached the CLI.
    let mut ws = cockpit.connect_worker(&view.id, &endpoint, 0).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, "the CLI's first line", |s| contains(&s.output, b"READY")).await;

    // The credential is nowhere a session or a web page can read it.
    for path in ["/api/sessions", "/api/sessions/target", "/api/health", "/api/accounts"] {
        let text = cockpit.http.get(cockpit.url(path)).send().await.expect("get").text().await.expect("text");
        assert!(!text.contains(credential.expose()), "{path} shows the worker credential");
    }
    let store = cockpit.store().await;
    let worker = store.get_worker(&view.id).await.expect("read").expect("a worker row");
    let mut pids = vec![worker.pid as u32];
    pids.extend(children_of(worker.pid as u32));
    assert!(pids.len() > 1, "the worker and its CLI");
    for pid in pids {
        for file in ["cmdline", "environ"] {
            // A non-dumpable process's environ is unreadable to a same-user process without
            // CAP_SYS_PTRACE: that is a pass too.
            if let Ok(bytes) = std::fs::read(format!("/proc/{pid}/{file}")) {
                assert!(
                    !contains(&bytes, credential.expose().as_bytes()),
                    "/proc/{pid}/{file} holds the worker credential"
                );
            }
        }
    }
    let mut files = Vec::new();
    collect_files(dir.path(), &mut files);
    for file in files {
        if let Ok(bytes) = std::fs::read(&file) {
            assert!(!contains(&bytes, credential.expose().as_bytes()), "{} holds the credential", file.display());
        }
    }
}

#[tokio::test]
async fn everything_typed_through_the_gateway_is_in_the_audit_log_with_who_typed_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let cockpit = start(dir.path()).await;
    let view = cockpit.start_session("typed").await;
    let mut ws = ws_status(&cockpit.ws_url("typed", Some(0)), &[("tailscale-user-login", "owner@example.com")])
        .await
        .expect("the terminal");
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, "the CLI's first line", |s| contains(&s.output, b"READY")).await;
    for frame in [
        serde_json::json!({"type": "input", "data": "audited-line"}),
        serde_json::json!({"type": "key", "key": "Enter"}),
        serde_json::json!({"type": "resize", "cols": 100, "rows": 30}),
    ] {
        ws.send(Message::Text(frame.to_string().into())).await.expect("sent");
    }
    read_until(&mut ws, &mut seen, "the echo", |s| {
        String::from_utf8_lossy(&s.output).matches("audited-line").count() >= 2
    })
    .await;
    ws.close(None).await.expect("closed");
    while let Ok(Some(Ok(_))) = tokio::time::timeout(T, ws.next()).await {}

    let store = cockpit.store().await;
    let deadline = tokio::time::Instant::now() + T;
    let entry = loop {
        let audit = store.list_audit(50).await.expect("audit");
        if let Some(entry) = audit.into_iter().find(|a| a.action == "input") {
            break entry;
        }
        assert!(tokio::time::Instant::now() < deadline, "no audit entry for the typing");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(entry.actor.as_deref(), Some("owner@example.com"));
    assert_eq!(entry.session_id.as_deref(), Some(view.id.as_str()));
    assert_eq!(entry.detail["inputs"], 1);
    assert_eq!(entry.detail["bytes"], "audited-line".len());
    assert_eq!(entry.detail["keys"], 1);
    assert_eq!(entry.detail["resizes"], 1);
    assert!(!entry.detail.to_string().contains("audited-line"), "counts only, never the text");
}

/// A burst of typing far beyond the queue to the worker (5 000 frames at once) arrives whole
/// and in order: the gateway waits for the worker instead of dropping frames. The program
/// marks each line it reads (`got<i>`): that is what reached it. The terminal's own echo of
/// the typing is no evidence: the kernel drops echoes when the terminal's output backs up.
#[tokio::test]
async fn a_burst_of_input_reaches_the_cli_whole_and_in_order() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = script_config(dir.path(), "burst-cli.sh", "echo READY\nexec sed -u 's/^/got/'\n");
    let cockpit = Cockpit::start(dir.path(), &config, &[("TOKEN_ALPHA", "sk-ant-oat01-trust-test-secret")]).await;
    let view = cockpit.start_session("burst").await;
    let ws = ws_status(&cockpit.ws_url("burst", Some(0)), &[]).await.expect("the terminal");
    let (mut tx, mut rx) = ws.split();
    const FRAMES: usize = 5000;
    let reader = tokio::spawn(async move {
        let mut seen = Seen::default();
        let last = format!("got<{}>", FRAMES - 1);
        let deadline = tokio::time::Instant::now() + T;
        while !String::from_utf8_lossy(&seen.output).contains(&last) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, rx.next()).await {
                Ok(Some(Ok(msg))) => seen.apply(msg),
                other => return Err((format!("{other:?}"), seen)),
            }
        }
        Ok(seen)
    });
    for i in 0..FRAMES {
        let frame = serde_json::json!({"type": "input", "data": format!("<{i}>\r")});
        tx.send(Message::Text(frame.to_string().into())).await.expect("sent");
    }
    let seen = match reader.await.expect("reader") {
        Ok(seen) => seen,
        Err((ended, seen)) => {
            // What the worker itself holds, to tell where the rest stopped.
            let endpoint = cockpit.session(&view.id).await.status.worker_endpoint.unwrap_or_default();
            let mut straight = Seen::default();
            let mut worker = cockpit.connect_worker(&view.id, &endpoint, 0).await;
            while let Ok(Some(Ok(msg))) = tokio::time::timeout(std::time::Duration::from_secs(2), worker.next()).await {
                straight.apply(msg);
            }
            let last = format!("got<{}>", FRAMES - 1);
            let count = |seen: &Seen| String::from_utf8_lossy(&seen.output).matches(&last).count();
            let tail = |seen: &Seen| {
                String::from_utf8_lossy(&seen.output[seen.output.len().saturating_sub(120)..]).into_owned()
            };
            panic!(
                "the output stopped before the program's copy of the last line ({ended}); {} error frames {:?}. Through the gateway: {} bytes, the last line {} times, ending {:?}. Straight from the worker: {} bytes, the last line {} times, ending {:?}; the screen: {:?}",
                seen.errors.len(),
                &seen.errors[..seen.errors.len().min(3)],
                seen.output.len(),
                count(&seen),
                tail(&seen),
                straight.output.len(),
                count(&straight),
                tail(&straight),
                cockpit.screen(&view.id).await,
            );
        }
    };
    assert!(seen.errors.is_empty(), "no frame was refused: {:?}", &seen.errors[..seen.errors.len().min(3)]);
    let output = String::from_utf8_lossy(&seen.output);
    let mut at = 0;
    for i in 0..FRAMES {
        let line = format!("got<{i}>");
        let found = output[at..].find(&line).unwrap_or_else(|| panic!("line {i} is missing or out of order"));
        at += found + line.len();
    }
}

/// A stand-in CLI that opens a permission dialog, waits for `answered` in `dir`, then goes idle
/// at its prompt (the PTY echoes what is typed).
fn dialog_config(dir: &Path) -> String {
    let cli = script(
        dir,
        "dialog-cli.sh",
        &format!(
            r#"D='{dir}'
{helpers}show "$APPROVAL"
while [ ! -e "$D/answered" ]; do sleep 0.05; done
show "● Done."
printf '\n────────────\n❯ '
sleep 300
"#,
            dir = dir.display(),
            helpers = SCREEN_HELPERS,
        ),
    );
    one_repo_config(dir, &cli)
}

#[tokio::test]
async fn a_message_sent_while_a_permission_dialog_is_open_is_not_typed_into_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let cockpit = Cockpit::start(dir.path(), &dialog_config(dir.path()), &[("TOKEN_ALPHA", "sk-ant-oat01-x")]).await;
    assert_eq!(
        cockpit.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "asks"})).await.status(),
        201
    );
    cockpit
        .wait_session("asks", "the permission dialog", |s| {
            s.live.as_ref().is_some_and(|l| l.activity == cockpit_api::Activity::NeedsApproval)
        })
        .await;
    let resp = cockpit.post("/api/sessions/asks/send", serde_json::json!({"text": "what are you doing?"})).await;
    assert_eq!(resp.status(), 409);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["code"], "approval_pending", "{body}");
    assert_eq!(body["approval"]["tool"], "Bash", "the pending request comes back: {body}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!cockpit.screen("asks").await.contains("what are you doing"), "nothing was typed into the dialog");

    std::fs::write(dir.path().join("answered"), b"").expect("answer");
    cockpit
        .wait_session("asks", "the dialog to close", |s| {
            s.live.as_ref().is_some_and(|l| l.activity != cockpit_api::Activity::NeedsApproval && l.approval.is_none())
        })
        .await;
    let resp = cockpit.post("/api/sessions/asks/send", serde_json::json!({"text": "what are you doing?"})).await;
    assert_eq!(resp.status(), 202, "once the dialog is gone the message goes through");
    cockpit.wait_screen("asks", "what are you doing?", "the message never reached the CLI").await;
}

/// The pids of `pid`'s descendants.
fn children_of(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        let Ok(entries) = std::fs::read_dir("/proc") else { break };
        for entry in entries.flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            if cockpit_worker::peer::parent_of(child) == Some(parent) {
                found.push(child);
                frontier.push(child);
            }
        }
    }
    found
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() && !path.ends_with(".git") => collect_files(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}
