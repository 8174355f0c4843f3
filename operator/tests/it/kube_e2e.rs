//! Kubernetes mode end to end: the real `cockpit serve --runtime kube` binary, configured as the
//! Helm chart configures it (environment variables) and pointed by a kubeconfig file at an
//! HTTP-level stand-in for the API server (`support/apiserver.rs`), with a stand-in kubelet
//! (`support/kubelet.rs`) that runs each worker Pod it creates as a real local `cockpit worker`
//! process (the image's binary) on a loopback Pod IP, with the account's token from the Secret.
//! The CLI inside the worker is a script; everything else is the real thing.

use crate::support::harness;

use crate::support::apiserver;
use crate::support::kubelet;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use apiserver::ApiServer;
use cockpit_api::api::{AccountView, HistoryPage, SessionView};
use cockpit_api::{ClaudeAccount, ClaudeSession, SessionPhase};
use harness::{Cockpit, Seen, T, connect, contains, git_repo, read_until, script};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kubelet::{Kubelet, KubeletConfig};
use serde_json::{Value, json};

const NS: &str = "cockpit";
const IMAGE: &str = "cockpit-worker:e2e";
const TOKEN_ALPHA: &str = "sk-ant-oat01-e2e-alpha-secret-value";
const TOKEN_BETA: &str = "sk-ant-oat01-e2e-beta-secret-value";
/// The CLI stand-ins answer `--version` as the real CLI does (the control plane asks at start).
const VERSION: &str = "if [ \"$1\" = --version ]; then echo '2.1.0 (Claude Code)'; exit 0; fi\n";
const RESOURCES: &str = r#"{"requests":{"cpu":"300m","memory":"700Mi"},"limits":{"memory":"1Gi"}}"#;

/// A cluster stand-in with a control plane running against it.
struct Cluster {
    api: ApiServer,
    kubelet: Kubelet,
    cockpit: Cockpit,
    port: u16,
    _dir: tempfile::TempDir,
}

/// An account and (unless `secret` is None) its Secret holding the token.
fn add_account(api: &ApiServer, name: &str, priority: i32, secret: Option<&str>) {
    if let Some(token) = secret {
        api.create(
            "secrets",
            NS,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": format!("claude-{name}")},
                   "type": "Opaque", "stringData": {"token": token}}),
        )
        .expect("secret");
    }
    api.create(
        "claudeaccounts",
        NS,
        json!({"apiVersion": "cockpit.dev/v1alpha1", "kind": "ClaudeAccount", "metadata": {"name": name},
               "spec": {"credentials": {"secretName": format!("claude-{name}"), "key": "token"}, "priority": priority}}),
    )
    .expect("account");
}

/// A free port on every address (the workers listen on their own loopback Pod IPs).
fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0").expect("bind").local_addr().expect("addr").port()
}

/// Starts the stand-ins and `cockpit serve --runtime kube`; `cli` is the worker's CLI script
/// body, `accounts` what to create first.
async fn cluster(cli: &str, accounts: &[(&str, i32, Option<&str>)]) -> Cluster {
    // Under /tmp or not (CI clones into /tmp): nothing the Pods use is reached through a
    // host path that their `/tmp` emptyDir would hide.
    let dir = tempfile::tempdir().expect("tmp");
    let api = ApiServer::start().await;
    // The schema and CEL rules of the CRDs, as the real API server applies them.
    api.validate_with("claudesessions", |obj| {
        let session: ClaudeSession = serde_json::from_value(obj.clone()).map_err(|e| e.to_string())?;
        session.validate_cel().map_err(|e| e.to_string())
    });
    api.validate_with("claudeaccounts", |obj| {
        serde_json::from_value::<ClaudeAccount>(obj.clone()).map(|_| ()).map_err(|e| e.to_string())
    });
    for (name, priority, token) in accounts {
        add_account(&api, name, *priority, *token);
    }
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, NS);
    let cli = script(dir.path(), "cli.sh", cli);
    let repo = git_repo(dir.path());
    // The worker image has the CLI on its PATH as `claude` (here: the test's script).
    let config = format!("repos:\n  - name: demo\n    path: {}\nworker:\n  command: claude\n", repo.display());
    let port = free_port();
    let port_text = port.to_string();
    let kubeconfig_text = kubeconfig.display().to_string();
    let cockpit = Cockpit::start(
        dir.path(),
        &config,
        &[
            ("COCKPIT_RUNTIME", "kube"),
            ("KUBECONFIG", &kubeconfig_text),
            ("COCKPIT_NAMESPACE", NS),
            ("COCKPIT_WORKER_IMAGE", IMAGE),
            ("COCKPIT_CLAUDE_HOME_PVC", "cockpit-data"),
            ("COCKPIT_WORKER_PORT", &port_text),
            ("COCKPIT_WORKER_RESOURCES", RESOURCES),
        ],
    )
    .await;
    // The worker image holds the `cockpit` binary; the data claim is the control plane's data
    // directory (in the chart both mount the same PVC).
    let images = HashMap::from([(
        IMAGE.to_owned(),
        HashMap::from([
            ("cockpit".to_owned(), PathBuf::from(env!("CARGO_BIN_EXE_cockpit"))),
            ("claude".to_owned(), cli.clone()),
        ]),
    )]);
    let kubelet = Kubelet::start(
        api.clone(),
        KubeletConfig {
            root: dir.path().join("kubelet"),
            namespace: NS.into(),
            images,
            claims: HashMap::from([("cockpit-data".to_owned(), cockpit.data_dir.clone())]),
        },
    );
    Cluster { api, kubelet, cockpit, port, _dir: dir }
}

/// Polls `check` until it gives a value (60 s at most).
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?.as_array()?.iter().find(|c| c["type"] == type_)
}

fn is_true(obj: &Value, type_: &str) -> bool {
    condition(obj, type_).is_some_and(|c| c["status"] == "True")
}

impl Cluster {
    /// An event about `regarding` for `reason` (and of `type_`, when given), once there is one.
    fn event(&self, regarding: &str, reason: &str, type_: Option<&str>) -> Option<Value> {
        self.api.list("events", NS, "").into_iter().find(|e| {
            e["regarding"]["name"] == regarding && e["reason"] == reason && type_.is_none_or(|t| e["type"] == t)
        })
    }

    fn session(&self, name: &str) -> Option<Value> {
        self.api.get("claudesessions", NS, name)
    }

    fn pods_of(&self, session: &str) -> Vec<Value> {
        self.api.list("pods", NS, &format!("cockpit.dev/session={session}"))
    }

    /// What went wrong, for a failing assertion: the objects and the worker logs.
    fn report(&self) -> String {
        let mut out = String::new();
        for obj in self.api.dump() {
            if obj["kind"] != "Secret" {
                out.push_str(&format!("{obj:#}\n"));
            }
        }
        for pod in self.api.list("pods", NS, "") {
            let name = pod["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            out.push_str(&format!("--- log of {name}:\n{}\n", self.kubelet.log(&name)));
        }
        out
    }

    async fn wait_view(&self, id: &str, what: &str, pred: impl Fn(&SessionView) -> bool) -> SessionView {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let resp =
                self.cockpit.http.get(self.cockpit.url(&format!("/api/sessions/{id}"))).send().await.expect("GET");
            if resp.status().is_success() {
                let view: SessionView = resp.json().await.expect("a session view");
                if pred(&view) {
                    return view;
                }
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}:\n{}", self.report());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the session object to be Ready (as `kubectl wait --for=condition=Ready`).
    async fn wait_ready(&self, name: &str) -> Value {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            if let Some(obj) = self.session(name).filter(|s| is_true(s, "Ready")) {
                return obj;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {name} to be Ready:\n{}",
                self.report()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Reads the session's terminal through the gateway from its first byte until `needle`
    /// shows.
    async fn read_terminal(&self, id: &str, needle: &str) -> Vec<u8> {
        let mut ws = connect(&self.cockpit.ws_url(id, Some(0))).await;
        let mut seen = Seen::default();
        read_until(&mut ws, &mut seen, needle, |s| contains(&s.output, needle.as_bytes())).await;
        seen.output
    }
}

/// Interactive CLI stand-in: says whether the token it got is the alpha account's (without
/// printing it), where it runs and with what, then waits.
fn plain_cli() -> String {
    format!(
        "{VERSION}if [ \"$COCKPIT_ACCOUNT\" = alpha ] && [ \"$CLAUDE_CODE_OAUTH_TOKEN\" != '{TOKEN_ALPHA}' ]; then echo 'token: from the secret, held by the proxy'; else echo 'token: WRONG'; fi\n\
         echo \"cwd: $PWD\"\necho \"args: $*\"\necho READY-MARK\nexec sleep 600\n"
    )
}

#[tokio::test]
async fn a_session_from_the_api_is_a_claude_session_with_a_worker_pod_and_deleting_it_keeps_its_history() {
    let c = cluster(&plain_cli(), &[("alpha", 1, Some(TOKEN_ALPHA))]).await;

    // POST /api/sessions creates the object (what `kubectl get claudesessions` shows).
    let resp = c
        .cockpit
        .post("/api/sessions", json!({"repo_name": "demo", "name": "from-phone", "prompt": "summarise the README"}))
        .await;
    assert_eq!(resp.status(), 201);
    let created: SessionView = resp.json().await.expect("view");
    let object = c.session("from-phone").expect("a ClaudeSession object");
    assert_eq!(object["spec"]["repo"], "demo");
    assert_eq!(object["spec"]["prompt"], "summarise the README");
    assert_eq!(object["metadata"]["uid"], created.id.as_str(), "the API's id is the object's uid");

    // The controller adds its finalizer and starts one worker Pod with the right spec.
    let pod = eventually("the worker pod", || c.pods_of("from-phone").into_iter().next()).await;
    let pod_name = pod["metadata"]["name"].as_str().expect("pod name").to_owned();
    let spec = &pod["spec"];
    let container = &spec["containers"][0];
    assert_eq!(container["image"], IMAGE);
    assert!(!container.to_string().contains("claude-alpha"), "the CLI's container gets no account Secret");
    let token_env = spec["containers"][1]["env"]
        .as_array()
        .and_then(|env| env.iter().find(|e| e["name"] == "COCKPIT_PROXY_TOKEN"))
        .expect("the token variable");
    assert_eq!(
        token_env["valueFrom"]["secretKeyRef"],
        json!({"name": "claude-alpha", "key": "token", "optional": false})
    );
    assert!(token_env.get("value").is_none(), "the token is referenced, never copied");
    let security = &container["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(spec["automountServiceAccountToken"], false);
    assert_eq!(spec["shareProcessNamespace"], true, "the pause process reaps the CLI's orphans");
    assert_eq!(container["readinessProbe"]["httpGet"], json!({"path": "/healthz", "port": c.port}));
    assert_eq!(container["ports"][0]["containerPort"], c.port);
    assert_eq!(
        container["resources"],
        serde_json::from_str::<Value>(RESOURCES).expect("json"),
        "requests and limits from COCKPIT_WORKER_RESOURCES"
    );
    let labels = &pod["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/component"], "worker");
    assert_eq!(labels["cockpit.dev/session"], "from-phone");
    assert_eq!(labels["cockpit.dev/account"], "alpha");
    let owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!(
        (&owner["kind"], &owner["name"], &owner["uid"], &owner["controller"], &owner["blockOwnerDeletion"]),
        (&json!("ClaudeSession"), &json!("from-phone"), &json!(created.id), &json!(true), &json!(true))
    );
    let args: Vec<String> = serde_json::from_value(container["args"].clone()).expect("args");
    assert!(args.windows(2).any(|w| w == ["--prompt", "summarise the README"]), "{args:?}");
    let conversation =
        args.windows(2).find(|w| w[0] == "--session-id").map(|w| w[1].clone()).expect("a new conversation id");

    // The kubelet reports it Running with its IP: the control plane follows the worker there
    // and the session goes Ready, with its conditions and observedGeneration.
    let ready = c.wait_ready("from-phone").await;
    let status = &ready["status"];
    assert_eq!(status["phase"], "Running");
    assert_eq!(status["account"], "alpha");
    assert_eq!(status["claudeSessionId"], conversation.as_str());
    assert_eq!(status["observedGeneration"], ready["metadata"]["generation"]);
    assert!(is_true(&ready, "AccountAssigned"), "{ready:#}");
    assert_eq!(condition(&ready, "Ready").expect("Ready")["observedGeneration"], ready["metadata"]["generation"]);
    assert_eq!(ready["metadata"]["finalizers"], json!(["cockpit.dev/stop-worker"]));
    let pod_now = c.api.get("pods", NS, &pod_name).expect("the pod");
    let ip = pod_now["status"]["podIP"].as_str().expect("a pod IP");
    assert_eq!(status["workerEndpoint"], format!("{ip}:{}", c.port).as_str());

    // The gateway shows it running and relays the worker's terminal from the pod.
    let view =
        c.wait_view(&created.id, "the API to show it running", |v| v.status.phase == SessionPhase::Running).await;
    assert_eq!(view.name, "from-phone");
    let output = c.read_terminal(&created.id, "READY-MARK").await;
    let text = String::from_utf8_lossy(&output);
    assert!(text.contains("token: from the secret"), "the token came from the Secret: {text}");
    assert!(text.contains(&format!("--session-id {conversation}")), "{text}");
    assert!(text.contains("cwd: ") && text.contains("worktrees"), "the session's worktree: {text}");

    // Events for the transitions; the account's status counts the session.
    eventually("a Starting event", || c.event("from-phone", "Starting", None)).await;
    let account = eventually("alpha to count one session", || {
        c.api.get("claudeaccounts", NS, "alpha").filter(|a| a["status"]["activeSessions"] == 1)
    })
    .await;
    assert!(is_true(&account, "Ready"), "{account:#}");

    // No secret anywhere but in its Secret: not in any object, not in the API's answers.
    for obj in c.api.dump().iter().filter(|o| o["kind"] != "Secret") {
        assert!(!obj.to_string().contains(TOKEN_ALPHA), "the token leaked into {obj:#}");
    }
    let worker_log = c.kubelet.log(&pod_name);
    assert!(worker_log.contains("session started"), "the worker's log: {worker_log}");
    assert!(!worker_log.contains(TOKEN_ALPHA), "the token leaked into the worker's log");
    for path in ["/api/sessions", "/api/accounts", "/api/health"] {
        let body = c.cockpit.http.get(c.cockpit.url(path)).send().await.expect("GET").text().await.expect("text");
        assert!(!body.contains(TOKEN_ALPHA), "the token leaked into {path}");
    }

    // DELETE through the API: the finalizer stops the worker, then releases the object.
    let resp =
        c.cockpit.http.delete(c.cockpit.url(&format!("/api/sessions/{}", created.id))).send().await.expect("DELETE");
    assert_eq!(resp.status(), 200);
    eventually("the object to go", || c.session("from-phone").is_none().then_some(())).await;
    let finalizer_patches = c
        .api
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("PATCH /apis/cockpit.dev/v1alpha1/namespaces/cockpit/claudesessions/from-phone?"))
        .count();
    assert!(finalizer_patches >= 2, "the finalizer was added and removed by patches");
    let code = c.kubelet.wait_exit(&pod_name, T).await.expect("the worker process ended");
    assert!(c.kubelet.pid(&pod_name).is_none());
    eventually("the pod to go", || c.pods_of("from-phone").is_empty().then_some(())).await;
    let _ = code;

    // The history outlives the object.
    let gone = c.wait_view(&created.id, "the API to show it deleted", |v| v.deleted_at.is_some()).await;
    assert_eq!(gone.status.phase, SessionPhase::Stopped, "{gone:#?}");
    let list: Vec<SessionView> = serde_json::from_value(c.cockpit.get_json("/api/sessions").await).expect("list");
    assert!(list.iter().all(|s| s.id != created.id), "deleted sessions leave the live list");
    let history: HistoryPage =
        serde_json::from_value(c.cockpit.get_json(&format!("/api/sessions/{}/history", created.id)).await)
            .expect("history");
    let phases: Vec<&str> =
        history.entries.iter().filter(|e| e.kind == "state").filter_map(|e| e.data["phase"].as_str()).collect();
    assert!(phases.contains(&"Running") && phases.last() == Some(&"Stopped"), "{phases:?}");
    let replay = c.read_terminal(&created.id, "READY-MARK").await;
    assert!(contains(&replay, b"token: from the secret"), "the output is replayed from the database");
}

#[tokio::test]
async fn a_claude_session_applied_like_kubectl_shows_up_in_the_api_runs_and_goes_with_kubectl_delete() {
    let c = cluster(&plain_cli(), &[("alpha", 1, Some(TOKEN_ALPHA))]).await;
    let sessions: Api<ClaudeSession> = Api::namespaced(c.api.client(NS), NS);
    let manifest = json!({
        "apiVersion": "cockpit.dev/v1alpha1", "kind": "ClaudeSession",
        "metadata": {"name": "from-kubectl", "labels": {"team": "web"}},
        "spec": {"repo": "demo", "prompt": "hello from kubectl", "model": "sonnet"},
    });
    let applied = sessions
        .patch("from-kubectl", &PatchParams::apply("kubectl").force(), &Patch::Apply(&manifest))
        .await
        .expect("kubectl apply --server-side");
    let uid = applied.metadata.uid.clone().expect("uid");

    let listed = {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let list: Vec<SessionView> =
                serde_json::from_value(c.cockpit.get_json("/api/sessions").await).expect("list");
            if let Some(view) = list.into_iter().find(|s| s.name == "from-kubectl") {
                break view;
            }
            assert!(tokio::time::Instant::now() < deadline, "the applied session never showed up in /api/sessions");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert_eq!(listed.id, uid.as_str());
    assert_eq!(listed.spec.repo, "demo");
    assert_eq!(listed.spec.model.as_deref(), Some("sonnet"));

    let ready = c.wait_ready("from-kubectl").await;
    assert_eq!(ready["status"]["phase"], "Running");
    let view = c.wait_view(&uid, "the API to show it running", |v| v.status.phase == SessionPhase::Running).await;
    assert_eq!(view.status.account.as_deref(), Some("alpha"));
    let pod = c.pods_of("from-kubectl").into_iter().next().expect("its pod");
    let args = pod["spec"]["containers"][0]["args"].to_string();
    assert!(args.contains("hello from kubectl") && args.contains("\"--model\",\"sonnet\""), "{args}");
    let output = c.read_terminal(&uid, "READY-MARK").await;
    assert!(contains(&output, b"token: from the secret"));

    // Applying the same manifest again changes nothing: no new pod, same generation.
    let again = sessions
        .patch("from-kubectl", &PatchParams::apply("kubectl").force(), &Patch::Apply(&manifest))
        .await
        .expect("apply again");
    assert_eq!(again.metadata.generation, applied.metadata.generation);

    sessions.delete("from-kubectl", &DeleteParams::default()).await.expect("kubectl delete");
    let gone = c.wait_view(&uid, "the API to show it deleted", |v| v.deleted_at.is_some()).await;
    assert_eq!(gone.status.phase, SessionPhase::Stopped);
    eventually("the object and its pod to go", || {
        (c.session("from-kubectl").is_none() && c.pods_of("from-kubectl").is_empty()).then_some(())
    })
    .await;
    assert_eq!(c.pods_of("from-kubectl").len(), 0);
    assert_eq!(
        c.api.requests().iter().filter(|r| r.starts_with("POST /api/v1/namespaces/cockpit/pods")).count(),
        1,
        "one worker pod in all"
    );
}

#[tokio::test]
async fn a_missing_account_secret_fails_the_session_with_the_kubelets_reason() {
    let c = cluster(&plain_cli(), &[("ghost", 1, None)]).await;
    let resp = c.cockpit.post("/api/sessions", json!({"repo_name": "demo", "name": "no-secret"})).await;
    assert_eq!(resp.status(), 201);
    let created: SessionView = resp.json().await.expect("view");
    let failed = c.wait_view(&created.id, "the session to fail", |v| v.status.phase == SessionPhase::Failed).await;
    let message = failed.status.message.clone().unwrap_or_default();
    assert!(message.contains("secret \"claude-ghost\" not found"), "{message}");
    let object = c.session("no-secret").expect("object");
    assert_eq!(condition(&object, "Ready").expect("Ready")["reason"], "StartFailed");
    eventually("a warning event", || c.event("no-secret", "StartFailed", Some("Warning"))).await;
}

#[tokio::test]
async fn a_usage_limit_moves_the_conversation_to_a_new_pod_on_the_next_account() {
    // On alpha: the CLI works until the test says so, then hits its session limit (the CLI's limit dialog). On beta: it
    // says what it resumes.
    let signals = tempfile::tempdir().expect("tmp");
    let go = signals.path().join("limit");
    let cli = format!(
        r#"{VERSION}if [ "$COCKPIT_ACCOUNT" = alpha ]; then
  echo "✻ Thinking… (esc to interrupt)"
  while [ ! -e '{go}' ]; do sleep 0.1; done
  printf '\033[2J\033[H> hi\n  ⎿  You'"'"'ve hit your session limit · resets 11:29pm (UTC)\n\n❯ /rate-limit-options\n────\n  What do you want to do?\n\n  ❯ 1. Stop and wait for limit to reset\n    2. Upgrade your plan\n'
  exec sleep 600
fi
if [ "$COCKPIT_ACCOUNT" = beta ]; then echo "on beta with: $*"; fi
echo CONTINUED-MARK
exec sleep 600
"#,
        go = go.display()
    );
    let c = cluster(&cli, &[("alpha", 2, Some(TOKEN_ALPHA)), ("beta", 1, Some(TOKEN_BETA))]).await;
    let resp = c.cockpit.post("/api/sessions", json!({"repo_name": "demo", "name": "rotating", "prompt": "go"})).await;
    assert_eq!(resp.status(), 201);
    let created: SessionView = resp.json().await.expect("view");
    let first = eventually("the first pod", || c.pods_of("rotating").into_iter().next()).await;
    assert_eq!(first["metadata"]["labels"]["cockpit.dev/account"], "alpha");
    let first_name = first["metadata"]["name"].as_str().expect("name").to_owned();
    // The worker saw the CLI working; now the limit comes.
    eventually("the session working on alpha", || {
        c.session("rotating").filter(|s| s["status"]["activity"] == "Working").map(|_| ())
    })
    .await;
    std::fs::write(&go, b"").expect("go");

    // The limit hit replaces the pod with one on beta that resumes the same conversation.
    let deadline = tokio::time::Instant::now() + T;
    let second = loop {
        let beta = c.pods_of("rotating").into_iter().find(|p| p["metadata"]["labels"]["cockpit.dev/account"] == "beta");
        if let Some(pod) = beta {
            break pod;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for a pod on beta:\n{}", c.report());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let args = second["spec"]["containers"][0]["args"].to_string();
    let view = c.wait_view(&created.id, "the session on beta", |v| v.status.account.as_deref() == Some("beta")).await;
    let conversation = view.status.claude_session_id.clone().expect("conversation id");
    assert!(args.contains(&format!("\"--resume\",\"{conversation}\"")), "{args}");
    assert_eq!(view.status.rotations, 1);
    c.kubelet.wait_exit(&first_name, T).await.expect("the alpha worker stopped");
    let ready = c.wait_ready("rotating").await;
    assert_eq!(ready["status"]["account"], "beta");
    let output = c.read_terminal(&created.id, "CONTINUED-MARK").await;
    assert!(contains(&output, format!("--resume {conversation}").as_bytes()), "{}", String::from_utf8_lossy(&output));

    // The account controller marks alpha limited (conditions and a warning Event).
    let alpha = eventually("alpha marked limited", || {
        c.api.get("claudeaccounts", NS, "alpha").filter(|a| is_true(a, "RateLimited"))
    })
    .await;
    assert!(alpha["status"]["rateLimitedUntil"].is_string(), "{alpha:#}");
    assert_eq!(condition(&alpha, "Ready").expect("Ready")["status"], "False");
    eventually("a RateLimited event", || c.event("alpha", "RateLimited", Some("Warning"))).await;
    let accounts: Vec<AccountView> =
        serde_json::from_value(c.cockpit.get_json("/api/accounts").await).expect("accounts");
    let alpha_view = accounts.iter().find(|a| a.id == "alpha").expect("alpha");
    assert!(alpha_view.limited_until.is_some(), "{alpha_view:?}");
    let beta_view = accounts.iter().find(|a| a.id == "beta").expect("beta");
    assert_eq!((beta_view.limited_until, beta_view.active_sessions), (None, 1), "{beta_view:?}");
}
