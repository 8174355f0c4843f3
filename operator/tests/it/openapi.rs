//! The OpenAPI document (`GET /api/openapi.json`): it names every route of the gateway, its
//! references resolve, its example request bodies are what the Rust types accept, and a
//! schemathesis run against a real `cockpit serve` finds no server error and no response that
//! differs from the document.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cockpit_api::api::{
    ApprovalAnswer, CreateSession, OneshotRequest, PushSubscriptionJson, PushUnsubscribe, SendMessage,
};
use cockpit_operator::gateway::openapi::document;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The methods axum's routing functions register.
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `(path, method)` of every `.route("…", …)` in gateway/mod.rs, read from the source so that a
/// route added without documentation fails the test.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gateway/mod.rs");
    let source = std::fs::read_to_string(&file).expect("gateway/mod.rs");
    let mut routes = BTreeSet::new();
    for line in source.lines() {
        let Some(rest) = line.trim().strip_prefix(".route(\"") else { continue };
        let (path, handlers) = rest.split_once('"').expect("a closing quote");
        let mut methods = 0;
        for method in METHODS {
            // `get(` at the start of the handlers or `.get(` chained after another one.
            let token = format!("{method}(");
            let found = handlers.match_indices(&token).any(|(at, _)| {
                let before = handlers[..at].chars().next_back();
                matches!(before, Some(' ' | ',' | '.' | '('))
            });
            if found {
                routes.insert((path.to_owned(), method.to_owned()));
                methods += 1;
            }
        }
        assert!(methods > 0, "no method found on the route line {line:?} of {}", file.display());
    }
    assert!(routes.len() >= 10, "suspiciously few routes parsed from {}: {routes:?}", file.display());
    routes
}

#[test]
fn every_route_is_documented() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                documented.insert((path.clone(), method.to_owned()));
            }
        }
    }
    let registered = routes_in_source();
    let missing: Vec<_> = registered.difference(&documented).collect();
    assert!(missing.is_empty(), "routes registered in gateway/mod.rs but not in the OpenAPI document: {missing:?}");
    let stale: Vec<_> = documented.difference(&registered).collect();
    assert!(stale.is_empty(), "operations in the OpenAPI document that gateway/mod.rs does not register: {stale:?}");
}

#[test]
fn every_operation_is_complete() {
    let doc = document();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let path_params: Vec<&str> =
            path.split('/').filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_owned()), "operationId {id} used twice");
            let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{method} {path}: no responses"));
            assert!(responses.keys().any(|s| s.starts_with('2') || s == "101"), "{method} {path}: no success status");
            for (status, response) in responses {
                assert!(response["description"].is_string(), "{method} {path} {status}: no description");
                if status.starts_with('4') || status.starts_with('5') {
                    let content =
                        response["content"].as_object().unwrap_or_else(|| panic!("{method} {path} {status}: no body"));
                    if let Some(json) = content.get("application/json") {
                        assert_eq!(json["schema"]["$ref"], "#/components/schemas/ApiError", "{method} {path} {status}");
                    }
                }
            }
            if method != "get" {
                assert!(responses.contains_key("403"), "{method} {path}: the origin check's 403 is not documented");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413"] {
                    assert!(responses.contains_key(status), "{method} {path}: a body but no {status}");
                }
            }
            let mut params: Vec<&Value> = item["parameters"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
            params.extend(op["parameters"].as_array().into_iter().flatten());
            for name in &path_params {
                assert!(
                    params.iter().any(|p| p["in"] == "path" && p["name"] == *name && p["required"] == true),
                    "{method} {path}: path parameter {name} not documented"
                );
            }
        }
    }
    let query = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query" && p["name"] == name))
    };
    assert!(query("/api/sessions/{id}/history", "after") && query("/api/sessions/{id}/history", "limit"));
    assert!(query("/ws/sessions/{id}", "from"));
    assert!(doc["paths"]["/ws/sessions/{id}"]["get"]["responses"].get("101").is_some());
    assert!(
        doc["paths"]["/api/sessions/{id}/screen"]["get"]["responses"]["200"]["content"].get("text/plain").is_some()
    );
    assert!(doc["paths"]["/api/events"]["get"]["responses"]["200"]["content"].get("text/event-stream").is_some());
    let conversation = &doc["paths"]["/api/sessions/{id}/conversation"]["get"];
    assert!(conversation["responses"]["200"]["content"].get("text/event-stream").is_some());
    assert!(query("/api/sessions/{id}/conversation", "after"));
}

/// Every `$ref` in `value`, with where it was found.
fn refs<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref" {
                    out.push((at.clone(), child.as_str().expect("a $ref is a string")));
                } else {
                    refs(child, format!("{at}/{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_ref_resolves() {
    let doc = document();
    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    assert!(found.len() > 20, "suspiciously few $refs: {found:?}");
    let mut used = BTreeSet::new();
    for (at, reference) in &found {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("{at}: non-local $ref {reference}"));
        assert!(doc.pointer(pointer).is_some(), "{at}: $ref {reference} does not resolve");
        used.insert(pointer.to_owned());
    }
    for name in doc["components"]["schemas"].as_object().expect("components").keys() {
        assert!(used.contains(&format!("/components/schemas/{name}")), "schema {name} is never referenced");
    }
}

fn check_example<T: DeserializeOwned>(what: &str, value: &Value) {
    if let Err(err) = serde_json::from_value::<T>(value.clone()) {
        panic!("{what}: the example {value} does not deserialize: {err}");
    }
}

#[test]
fn example_request_bodies_deserialize() {
    let doc = document();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(body) = item.get(method).and_then(|op| op.get("requestBody")) else { continue };
            let what = format!("{method} {path}");
            let json = &body["content"]["application/json"];
            let schema =
                json["schema"]["$ref"].as_str().unwrap_or_else(|| panic!("{what}: the body is not a named schema"));
            let examples = json["examples"].as_object().unwrap_or_else(|| panic!("{what}: no examples"));
            assert!(!examples.is_empty(), "{what}: no examples");
            for (name, example) in examples {
                let what = format!("{what} example {name}");
                let value = &example["value"];
                match schema.rsplit('/').next() {
                    Some("CreateSession") => check_example::<CreateSession>(&what, value),
                    Some("SendMessage") => check_example::<SendMessage>(&what, value),
                    Some("OneshotRequest") => check_example::<OneshotRequest>(&what, value),
                    Some("ApprovalAnswer") => check_example::<ApprovalAnswer>(&what, value),
                    Some("PushSubscriptionJson") => check_example::<PushSubscriptionJson>(&what, value),
                    Some("PushUnsubscribe") => check_example::<PushUnsubscribe>(&what, value),
                    other => panic!("{what}: no Rust type known for the body schema {other:?}; add it to this test"),
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "only {checked} examples checked");
}

/// A `cockpit serve` child process, killed on drop.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `cockpit-worker` binary next to `cockpit` (built when missing: cargo builds only this
/// package's binaries for its tests).
fn worker_bin() -> PathBuf {
    let worker = Path::new(env!("CARGO_BIN_EXE_cockpit")).with_file_name("cockpit-worker");
    if !worker.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "cockpit-worker", "--bin", "cockpit-worker"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building cockpit-worker");
    }
    worker
}

/// Starts `cockpit serve` with one repo (`demo`), one account (`alpha`) and workers that run a
/// stand-in for Claude (`cat` for 5 s: interactive sessions take input for a while, then end),
/// so that sessions can be created, run and typed into without Claude.
fn start_server(dir: &Path) -> Server {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).expect("repo dir");
    let stand_in = dir.join("stand-in.sh");
    std::fs::write(&stand_in, "#!/bin/sh\nexec timeout 5 cat\n").expect("stand-in");
    std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config = dir.join("cockpit.yaml");
    let yaml = format!(
        "repos: [{{name: demo, path: {repo:?}}}]\naccounts: [{{name: alpha, tokenEnv: COCKPIT_OPENAPI_TEST_TOKEN}}]\nworker: {{command: {stand_in:?}, bin: {worker:?}}}\n",
        repo = repo.display().to_string(),
        stand_in = stand_in.display().to_string(),
        worker = worker_bin().display().to_string(),
    );
    std::fs::write(&config, yaml).expect("config");
    let log = dir.join("cockpit.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--config")
        .arg(&config)
        .env("COCKPIT_OPENAPI_TEST_TOKEN", "not-a-real-token")
        .env("COCKPIT_LOG", "warn")
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .env_remove("COCKPIT_PWA_DIR")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("cockpit serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        for _ in lines {}
    });
    let mut server = Server { child, base: String::new(), log };
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => {
            server.base = line
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
                .to_owned()
        }
        Err(_) => panic!("cockpit serve did not say where it listens; its log:\n{}", read_log(&server.log)),
    }
    server
}

fn read_log(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(80)..].join("\n")
}

#[test]
fn schemathesis_finds_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_server(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis/run.sh");
    // The venv lives under the target dir and survives between runs.
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("schemathesis-venv");
    let started = Instant::now();
    let output = Command::new("bash")
        .arg(&script)
        .arg(&server.base)
        .env("SCHEMATHESIS_VENV", &venv)
        .stdin(Stdio::null())
        .output()
        .expect("the schemathesis runner starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}\nschemathesis took {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        output.status.success(),
        "schemathesis found problems ({}):\n{stdout}\n{stderr}\n--- cockpit log (tail) ---\n{}",
        output.status,
        read_log(&server.log)
    );
}
