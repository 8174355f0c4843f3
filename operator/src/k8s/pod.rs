//! The worker Pod of a session, built by a pure function.

use std::collections::BTreeMap;

use cockpit_api::{ClaudeAccount, ClaudeSession};
use cockpit_worker::args::{
    DEFAULT_COLS, DEFAULT_RING_BYTES, DEFAULT_ROWS, Integration, ProxyArgs, RunArgs, WorkerCommand,
};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction, HostPathVolumeSource,
    PersistentVolumeClaimVolumeSource, Pod, PodSecurityContext, PodSpec, Probe, ResourceRequirements, Secret,
    SecretKeySelector, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Resource;

/// The label naming the session a worker Pod belongs to.
pub const SESSION_LABEL: &str = "cockpit.dev/session";
/// The label naming the account a worker Pod runs under.
pub const ACCOUNT_LABEL: &str = "cockpit.dev/account";
/// The port the worker serves on unless `COCKPIT_WORKER_PORT` says otherwise (the chart's
/// NetworkPolicy opens this one).
pub const WORKER_PORT: u16 = 7681;
/// Where the Claude home (shared by all sessions) is mounted in workers.
pub const CLAUDE_HOME: &str = "/claude-home";
/// Where session worktrees live, at the same path in the control plane and the workers (git
/// worktrees record absolute paths).
pub const WORKTREES: &str = "/data/worktrees";

/// The worker image (required), e.g. `cockpit-worker:0.1.0`.
pub const ENV_IMAGE: &str = "COCKPIT_WORKER_IMAGE";
/// The PVC holding the Claude home and the worktrees (default `cockpit-data`).
pub const ENV_DATA_PVC: &str = "COCKPIT_CLAUDE_HOME_PVC";
/// The worker container's resources as JSON, a Kubernetes `ResourceRequirements`
/// (`{"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1536Mi"}}`); the
/// Helm chart renders it from `worker.resources`.
pub const ENV_RESOURCES: &str = "COCKPIT_WORKER_RESOURCES";
/// The port workers serve on (default [`WORKER_PORT`]).
pub const ENV_PORT: &str = "COCKPIT_WORKER_PORT";

/// Cluster-wide settings for worker Pods.
#[derive(Clone, Debug, PartialEq)]
pub struct PodSettings {
    /// The worker image (it holds `cockpit` and the Claude CLI).
    pub image: String,
    /// The PVC holding the Claude home (`claude-home/`) and the worktrees (`worktrees/`).
    pub data_pvc: String,
    /// The CLI the worker runs.
    pub command: String,
    /// The worker container's requests and limits (a Claude CLI takes 0.5–1 GiB).
    pub resources: ResourceRequirements,
    /// The port the worker serves on (container port, readiness probe, the control plane's
    /// upstream connection).
    pub port: u16,
    /// Output bytes each worker keeps (the config's `worker.ringBytes`); none: the worker's
    /// default.
    pub ring_bytes: Option<usize>,
}

/// The default requests and limits of a worker: a quarter core and 512 MiB requested, at most
/// 1.5 GiB (no CPU limit: a throttled CLI only gets slower).
pub fn default_resources() -> ResourceRequirements {
    let quantity = |q: &str| Quantity(q.to_owned());
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), quantity("250m")),
            ("memory".to_owned(), quantity("512Mi")),
        ])),
        limits: Some(BTreeMap::from([("memory".to_owned(), quantity("1536Mi"))])),
        ..ResourceRequirements::default()
    }
}

impl Default for PodSettings {
    fn default() -> PodSettings {
        PodSettings {
            image: "cockpit-worker:latest".into(),
            data_pvc: "cockpit-data".into(),
            command: "claude".into(),
            resources: default_resources(),
            port: WORKER_PORT,
            ring_bytes: None,
        }
    }
}

/// Why the worker Pod settings in the environment are unusable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A required variable is missing.
    #[error("{0} is not set (it names the worker image)")]
    Missing(&'static str),
    /// A variable's value is invalid.
    #[error("{name}: {why}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        why: String,
    },
}

impl PodSettings {
    /// The settings from the environment (`var` looks a variable up; empty counts as unset):
    /// [`ENV_IMAGE`] (required), [`ENV_DATA_PVC`], [`ENV_RESOURCES`], [`ENV_PORT`]. `command` is
    /// the CLI the workers run (from the config file).
    pub fn from_env(var: impl Fn(&str) -> Option<String>, command: &str) -> Result<PodSettings, SettingsError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let defaults = PodSettings::default();
        let image = var(ENV_IMAGE).ok_or(SettingsError::Missing(ENV_IMAGE))?;
        let resources = match var(ENV_RESOURCES) {
            Some(json) => parse_resources(&json).map_err(|why| SettingsError::Invalid { name: ENV_RESOURCES, why })?,
            None => defaults.resources,
        };
        let port = match var(ENV_PORT) {
            Some(text) => match text.trim().parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => {
                    return Err(SettingsError::Invalid {
                        name: ENV_PORT,
                        why: format!("{text:?} is not a TCP port (1-65535)"),
                    });
                }
            },
            None => defaults.port,
        };
        Ok(PodSettings {
            image,
            data_pvc: var(ENV_DATA_PVC).unwrap_or(defaults.data_pvc),
            command: command.to_owned(),
            resources,
            port,
            ring_bytes: None,
        })
    }
}

/// Parses and checks a `ResourceRequirements` JSON: only `requests` and `limits`, every value a
/// Kubernetes quantity, no request above its limit (the API server would refuse every Pod).
pub fn parse_resources(json: &str) -> Result<ResourceRequirements, String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let object = value.as_object().ok_or("must be a JSON object with requests and/or limits")?;
    if let Some(unknown) = object.keys().find(|k| *k != "requests" && *k != "limits") {
        return Err(format!("unknown key {unknown:?} (requests and limits are allowed)"));
    }
    let mut parsed = ResourceRequirements::default();
    let mut values: [BTreeMap<String, f64>; 2] = Default::default();
    for (i, key) in ["requests", "limits"].into_iter().enumerate() {
        let Some(entries) = object.get(key) else { continue };
        let entries = entries.as_object().ok_or_else(|| format!("{key} must map resource names to quantities"))?;
        let mut map = BTreeMap::new();
        for (resource, quantity) in entries {
            let text = match quantity {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                other => return Err(format!("{key}.{resource}: {other} is not a quantity")),
            };
            let amount = quantity_value(&text)
                .ok_or_else(|| format!("{key}.{resource}: {text:?} is not a quantity (e.g. 500m, 512Mi, 1Gi)"))?;
            values[i].insert(resource.clone(), amount);
            map.insert(resource.clone(), Quantity(text));
        }
        match key {
            "requests" => parsed.requests = Some(map),
            _ => parsed.limits = Some(map),
        }
    }
    for (resource, request) in &values[0] {
        if let Some(limit) = values[1].get(resource)
            && request > limit
        {
            return Err(format!("the {resource} request is above its limit"));
        }
    }
    Ok(parsed)
}

/// The amount a Kubernetes quantity stands for (`500m` = 0.5, `1Ki` = 1024, `1k` = 1000), or
/// None when it is not one.
pub fn quantity_value(text: &str) -> Option<f64> {
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, factor) = SUFFIXES
        .iter()
        .find_map(|(suffix, factor)| text.strip_suffix(suffix).map(|n| (n, *factor)))
        .unwrap_or((text, 1.0));
    let valid = !number.is_empty()
        && !number.starts_with('.')
        && !number.ends_with('.')
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.matches('.').count() <= 1;
    if !valid {
        return None;
    }
    number.parse::<f64>().ok().map(|n| n * factor)
}

/// What one worker start needs.
#[derive(Clone, Debug)]
pub struct WorkerStart<'a> {
    /// The session.
    pub session: &'a ClaudeSession,
    /// The account it runs under.
    pub account: &'a ClaudeAccount,
    /// The repo's path on the node (a host path, mounted at the same path).
    pub repo_path: &'a str,
    /// The worker's working directory (the session's worktree, or the repo).
    pub cwd: &'a str,
    /// `--resume` this conversation, or start `--session-id` this new one.
    pub conversation: Conversation,
    /// The prompt to start with.
    pub prompt: Option<&'a str>,
    /// The terminal size the session's clients last set `(cols, rows)`, for a worker that takes
    /// over (after a rotation); none: the worker's default.
    pub size: Option<(u16, u16)>,
}

impl<'a> WorkerStart<'a> {
    /// A worker for `session` under `account` in the repo itself (no worktree), with no prompt
    /// and the worker's default terminal size.
    pub fn new(
        session: &'a ClaudeSession,
        account: &'a ClaudeAccount,
        repo_path: &'a str,
        conversation: Conversation,
    ) -> WorkerStart<'a> {
        WorkerStart { session, account, repo_path, cwd: repo_path, conversation, prompt: None, size: None }
    }
}

/// Which conversation a worker runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conversation {
    /// A new conversation with this id.
    New(uuid::Uuid),
    /// Resume this conversation.
    Resume(uuid::Uuid),
}

fn labels(session: &str, account: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "cockpit".to_owned()),
        ("app.kubernetes.io/component".to_owned(), "worker".to_owned()),
        ("app.kubernetes.io/managed-by".to_owned(), "cockpit".to_owned()),
        (SESSION_LABEL.to_owned(), session.to_owned()),
        (ACCOUNT_LABEL.to_owned(), account.to_owned()),
    ])
}

/// The working directory of a worker as its Pod sees it: a session's worktree lives on the
/// data volume, which the Pod mounts at [`WORKTREES`] (the control plane sees it under its data
/// dir); a repo used as it is (not a git repo) has the same path in the Pod (a hostPath mount).
pub fn pod_cwd(cwd: &std::path::Path, data_dir: &std::path::Path) -> String {
    match cwd.strip_prefix(data_dir.join("worktrees")) {
        Ok(rest) => std::path::Path::new(WORKTREES).join(rest).to_string_lossy().into_owned(),
        Err(_) => cwd.to_string_lossy().into_owned(),
    }
}

/// The loopback port of the Pod's API proxy container.
pub const API_PROXY_PORT: u16 = 8788;
/// The proxy container's variable holding the account's token (from its Secret; the proxy
/// reads it and removes it from its environment before anything else runs).
const PROXY_TOKEN_ENV: &str = "COCKPIT_PROXY_TOKEN";
/// The proxy container's user (the CLI's is 10001): the token file and the proxy's memory are
/// not the CLI's to read.
const PROXY_UID: i64 = 10002;

/// The worker Pod for `start`: owned by the session; the account's token only in the
/// `api-proxy` container (its Secret referenced there alone, another user than the CLI's), which
/// the worker's CLI uses as its API with a placeholder credential; non-root, read-only root filesystem, no privilege
/// escalation, all capabilities dropped, requests and limits, a readiness probe on `/healthz`,
/// and an init (the pod's pause process) that reaps the CLI's orphaned children.
pub fn worker_pod(start: &WorkerStart<'_>, settings: &PodSettings) -> Pod {
    let session = start.session;
    let name = session.metadata.name.clone().unwrap_or_default();
    let account_name = start.account.metadata.name.clone().unwrap_or_default();
    let spec = &session.spec;
    let credentials = &start.account.spec.credentials;
    let (cols, rows) = start.size.unwrap_or((DEFAULT_COLS, DEFAULT_ROWS));
    let run = RunArgs {
        listen: std::net::SocketAddr::from(([0, 0, 0, 0], settings.port)),
        cwd: Some(start.cwd.into()),
        cols,
        rows,
        ring_bytes: settings.ring_bytes.unwrap_or(DEFAULT_RING_BYTES),
        command: settings.command.clone(),
        claude_integration: Integration::On,
        mode: spec.mode,
        session_id: match start.conversation {
            Conversation::New(id) => Some(id),
            Conversation::Resume(_) => None,
        },
        resume: match start.conversation {
            Conversation::Resume(id) => Some(id),
            Conversation::New(_) => None,
        },
        model: spec.model.clone(),
        permission_mode: spec.permission_mode,
        prompt: start.prompt.map(str::to_owned),
        config_dir: Some(CLAUDE_HOME.into()),
        // The worker and the CLI hold no token: the API goes through the proxy container.
        api_proxy: Some(format!("http://127.0.0.1:{API_PROXY_PORT}")),
        credential_kind: credentials.kind,
        linger_secs: 5,
        ..RunArgs::default()
    };
    let args = std::iter::once("worker".to_owned()).chain(WorkerCommand::Run(Box::new(run)).to_argv()).collect();
    let env = vec![
        EnvVar {
            name: cockpit_worker::auth::CREDENTIAL_ENV.into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: credential_secret_name(session),
                    key: CREDENTIAL_KEY.into(),
                    optional: Some(false),
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        },
        EnvVar { name: "HOME".into(), value: Some("/tmp/home".into()), ..EnvVar::default() },
        // Which account the session runs on (a name, not a credential; the CLI's tools see it).
        EnvVar { name: "COCKPIT_ACCOUNT".into(), value: Some(account_name.clone()), ..EnvVar::default() },
        EnvVar { name: "COCKPIT_LOG".into(), value: Some("info".into()), ..EnvVar::default() },
    ];
    let container = Container {
        name: "worker".into(),
        image: Some(settings.image.clone()),
        command: Some(vec!["cockpit".into()]),
        args: Some(args),
        env: Some(env),
        ports: Some(vec![ContainerPort {
            container_port: i32::from(settings.port),
            name: Some("ws".into()),
            ..ContainerPort::default()
        }]),
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/healthz".into()),
                port: IntOrString::Int(i32::from(settings.port)),
                ..HTTPGetAction::default()
            }),
            period_seconds: Some(2),
            ..Probe::default()
        }),
        resources: Some(settings.resources.clone()),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), ..Capabilities::default() }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "data".into(),
                mount_path: CLAUDE_HOME.into(),
                sub_path: Some("claude-home".into()),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: "data".into(),
                mount_path: WORKTREES.into(),
                sub_path: Some("worktrees".into()),
                ..VolumeMount::default()
            },
            VolumeMount { name: "repo".into(), mount_path: start.repo_path.to_owned(), ..VolumeMount::default() },
            VolumeMount { name: "tmp".into(), mount_path: "/tmp".into(), ..VolumeMount::default() },
        ]),
        ..Container::default()
    };
    // The only container that holds the account's token (a file of its Secret, mounted here
    // alone), running as another user than the CLI's: a session's tools can reach its port,
    // which adds the token to API requests, but never read the token itself.
    let proxy = Container {
        name: "api-proxy".into(),
        image: Some(settings.image.clone()),
        command: Some(vec!["cockpit".into()]),
        args: Some(
            std::iter::once("worker".to_owned())
                .chain(
                    WorkerCommand::Proxy(ProxyArgs {
                        listen: std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, API_PROXY_PORT),
                        upstream: None,
                        token_file: None,
                        token_env: Some(PROXY_TOKEN_ENV.into()),
                        credential_kind: credentials.kind,
                    })
                    .to_argv(),
                )
                .collect(),
        ),
        // From the account's Secret, for this container alone; a missing Secret stops the Pod
        // with the kubelet's reason, which the session reports.
        env: Some(vec![
            EnvVar {
                name: PROXY_TOKEN_ENV.into(),
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: credentials.secret_name.clone(),
                        key: credentials.key.clone(),
                        optional: Some(false),
                    }),
                    ..EnvVarSource::default()
                }),
                ..EnvVar::default()
            },
            EnvVar { name: "COCKPIT_LOG".into(), value: Some("info".into()), ..EnvVar::default() },
        ]),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), Quantity("10m".into())),
                ("memory".to_owned(), Quantity("16Mi".into())),
            ])),
            limits: Some(BTreeMap::from([("memory".to_owned(), Quantity("128Mi".into()))])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            run_as_user: Some(PROXY_UID),
            run_as_group: Some(PROXY_UID),
            capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), ..Capabilities::default() }),
            ..SecurityContext::default()
        }),
        ..Container::default()
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("cockpit-{}-", truncate(&name, 40))),
            namespace: session.metadata.namespace.clone(),
            labels: Some(labels(&name, &account_name)),
            owner_references: Some(vec![owned_by(session)]),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![container, proxy],
            restart_policy: Some("Never".into()),
            // The pause container is PID 1 of a shared PID namespace, and it reaps every orphan:
            // the CLI's tool processes (shells, MCP servers, their children) that outlive their
            // parent are collected instead of piling up as zombies. The worker is then not PID
            // 1 either, so signals it does not handle keep their default action. The sharing
            // shows the CLI the proxy's process too: another user's, non-dumpable, so neither
            // its memory nor its files (`/proc/<pid>/root`) are the CLI's to read.
            share_process_namespace: Some(true),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            termination_grace_period_seconds: Some(20),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(10001),
                run_as_group: Some(10001),
                fs_group: Some(10001),
                seccomp_profile: Some(k8s_openapi::api::core::v1::SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    ..Default::default()
                }),
                ..PodSecurityContext::default()
            }),
            volumes: Some(vec![
                Volume {
                    name: "data".into(),
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: settings.data_pvc.clone(),
                        read_only: Some(false),
                    }),
                    ..Volume::default()
                },
                Volume {
                    name: "repo".into(),
                    host_path: Some(HostPathVolumeSource {
                        path: start.repo_path.to_owned(),
                        type_: Some("Directory".into()),
                    }),
                    ..Volume::default()
                },
                Volume { name: "tmp".into(), empty_dir: Some(Default::default()), ..Volume::default() },
            ]),
            ..PodSpec::default()
        }),
        status: None,
    }
}

/// The owner reference that ties an object to its session (deleted with it).
fn owned_by(session: &ClaudeSession) -> OwnerReference {
    OwnerReference {
        api_version: ClaudeSession::api_version(&()).into_owned(),
        kind: ClaudeSession::kind(&()).into_owned(),
        name: session.metadata.name.clone().unwrap_or_default(),
        uid: session.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The key of the worker credential in its Secret.
pub const CREDENTIAL_KEY: &str = "credential";

/// The Secret holding the credential of a session's workers: named after the session's uid (one
/// per session, unique even when a name is reused).
pub fn credential_secret_name(session: &ClaudeSession) -> String {
    format!("cockpit-worker-{}", session.metadata.uid.as_deref().unwrap_or_default())
}

/// The Secret a session's worker Pods take their credential from (`COCKPIT_WORKER_CREDENTIAL`):
/// referenced by that session's Pods only, owned by the session, so it goes with it.
pub fn credential_secret(session: &ClaudeSession, credential: &cockpit_worker::auth::WorkerCredential) -> Secret {
    let name = session.metadata.name.clone().unwrap_or_default();
    let mut labels = labels(&name, "");
    labels.remove(ACCOUNT_LABEL);
    Secret {
        metadata: ObjectMeta {
            name: Some(credential_secret_name(session)),
            namespace: session.metadata.namespace.clone(),
            labels: Some(labels),
            owner_references: Some(vec![owned_by(session)]),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            CREDENTIAL_KEY.to_owned(),
            k8s_openapi::ByteString(credential.expose().as_bytes().to_vec()),
        )])),
        ..Secret::default()
    }
}

/// At most `max` characters, without a trailing `-` (the generated suffix follows one).
fn truncate(s: &str, max: usize) -> &str {
    let cut = match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    };
    cut.trim_end_matches('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use cockpit_api::{PermissionMode, SessionMode};

    fn session(mode: &str) -> ClaudeSession {
        let mut s: ClaudeSession = serde_json::from_value(serde_json::json!({
            "apiVersion": "cockpit.dev/v1alpha1",
            "kind": "ClaudeSession",
            "metadata": {"name": "fix-tests", "namespace": "cockpit", "uid": "u-1"},
            "spec": {"repo": "web", "mode": mode, "prompt": "fix the tests", "model": "sonnet", "permissionMode": "acceptEdits"}
        }))
        .expect("session");
        s.metadata.generation = Some(1);
        s
    }

    fn account(kind: &str) -> ClaudeAccount {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "cockpit.dev/v1alpha1",
            "kind": "ClaudeAccount",
            "metadata": {"name": "personal", "namespace": "cockpit"},
            "spec": {"credentials": {"secretName": "claude-personal", "key": "token", "kind": kind}, "priority": 10}
        }))
        .expect("account")
    }

    fn build(mode: &str, kind: &str, conversation: Conversation) -> serde_json::Value {
        let s = session(mode);
        let a = account(kind);
        let pod = worker_pod(
            &WorkerStart {
                session: &s,
                account: &a,
                repo_path: "/srv/web",
                cwd: "/data/worktrees/web/fix-tests",
                conversation,
                prompt: Some("fix the tests"),
                size: None,
            },
            &PodSettings::default(),
        );
        serde_json::to_value(pod).expect("json")
    }

    #[test]
    fn a_worktree_is_found_on_the_data_volume_and_a_plain_repo_at_its_own_path() {
        let data = std::path::Path::new("/tmp/x/data");
        assert_eq!(pod_cwd(&data.join("worktrees/web/fix-tests"), data), "/data/worktrees/web/fix-tests");
        assert_eq!(pod_cwd(std::path::Path::new("/srv/notes"), data), "/srv/notes");
    }

    #[test]
    fn the_token_and_the_worker_credential_come_from_secrets_and_nowhere_else() {
        let pod = build(
            "Interactive",
            "OAuthToken",
            Conversation::New(uuid::Uuid::from_u128(0x11111111_2222_3333_4444_555555555555)),
        );
        let env = &pod["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["name"], "COCKPIT_WORKER_CREDENTIAL");
        assert_eq!(
            env[0]["valueFrom"]["secretKeyRef"],
            serde_json::json!({"name": "cockpit-worker-u-1", "key": "credential", "optional": false})
        );
        assert!(env[0].get("value").is_none());
        let names: Vec<&str> = env.as_array().expect("env").iter().filter_map(|e| e["name"].as_str()).collect();
        assert!(
            !names.iter().any(|n| ["CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"].contains(n)),
            "the CLI's container holds no account token: {names:?}"
        );
        assert!(!pod["spec"]["containers"][0].to_string().contains("claude-personal"), "no account Secret there");
        let args: Vec<String> = serde_json::from_value(pod["spec"]["containers"][0]["args"].clone()).expect("args");
        assert!(args.windows(2).any(|w| w == ["--api-proxy", "http://127.0.0.1:8788"]), "{args:?}");
        assert!(args.windows(2).any(|w| w == ["--credential-kind", "oauth-token"]));

        // The token: a file of the account's Secret, in the proxy container alone, another user.
        let proxy = &pod["spec"]["containers"][1];
        assert_eq!(proxy["name"], "api-proxy");
        let proxy_args: Vec<String> = serde_json::from_value(proxy["args"].clone()).expect("args");
        assert_eq!(
            proxy_args.join(" "),
            "worker proxy --listen 127.0.0.1:8788 --token-env COCKPIT_PROXY_TOKEN --credential-kind oauth-token"
        );
        assert_eq!(proxy["env"][0]["name"], "COCKPIT_PROXY_TOKEN");
        assert_eq!(
            proxy["env"][0]["valueFrom"]["secretKeyRef"],
            serde_json::json!({"name": "claude-personal", "key": "token", "optional": false})
        );
        assert!(proxy["env"][0].get("value").is_none(), "referenced, never copied");
        assert_eq!(proxy["securityContext"]["runAsUser"], 10002);
        assert_ne!(proxy["securityContext"]["runAsUser"], pod["spec"]["securityContext"]["runAsUser"]);
        assert!(proxy.get("ports").is_none(), "loopback only: nothing to expose");
        assert!(!pod["spec"]["volumes"].to_string().contains("claude-personal"), "no Secret volume");
        let api = build("Interactive", "ApiKey", Conversation::New(uuid::Uuid::from_u128(1)));
        assert!(api["spec"]["containers"][1]["args"].to_string().contains("api-key"));
    }

    #[test]
    fn the_credential_secret_is_the_sessions_and_holds_only_the_credential() {
        let credential = cockpit_worker::auth::WorkerCredential::from_bytes(&[9; 32]);
        let secret = serde_json::to_value(credential_secret(&session("Interactive"), &credential)).expect("json");
        assert_eq!(secret["kind"], "Secret");
        assert_eq!(secret["metadata"]["name"], "cockpit-worker-u-1");
        assert_eq!(secret["metadata"]["namespace"], "cockpit");
        assert_eq!(secret["metadata"]["ownerReferences"][0]["uid"], "u-1");
        assert_eq!(secret["metadata"]["labels"]["cockpit.dev/session"], "fix-tests");
        let data = secret["data"].as_object().expect("data");
        assert_eq!(data.keys().collect::<Vec<_>>(), ["credential"]);
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(data["credential"].as_str().expect("base64"))
            .expect("base64");
        assert_eq!(decoded, credential.expose().as_bytes());
    }

    #[test]
    fn the_pod_is_locked_down_and_owned_by_the_session() {
        let pod = build("Interactive", "OAuthToken", Conversation::New(uuid::Uuid::from_u128(1)));
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["runAsNonRoot"], true);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(pod["spec"]["automountServiceAccountToken"], false);
        assert_eq!(pod["spec"]["restartPolicy"], "Never");
        assert_eq!(pod["spec"]["shareProcessNamespace"], true, "the pause process reaps orphans");
        assert_eq!(c["resources"]["requests"]["memory"], "512Mi");
        assert_eq!(c["resources"]["limits"]["memory"], "1536Mi");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/healthz");
        let owner = &pod["metadata"]["ownerReferences"][0];
        assert_eq!(
            (owner["kind"].as_str(), owner["name"].as_str(), owner["controller"].as_bool()),
            (Some("ClaudeSession"), Some("fix-tests"), Some(true))
        );
        assert_eq!(pod["metadata"]["labels"][SESSION_LABEL], "fix-tests");
        assert_eq!(pod["metadata"]["labels"]["app.kubernetes.io/component"], "worker");
        assert_eq!(pod["metadata"]["generateName"], "cockpit-fix-tests-");
    }

    #[test]
    fn arguments_carry_the_conversation_mode_and_options() {
        let pod = build(
            "Oneshot",
            "OAuthToken",
            Conversation::Resume(uuid::Uuid::from_u128(0x99999999_2222_3333_4444_555555555555)),
        );
        let args: Vec<String> = serde_json::from_value(pod["spec"]["containers"][0]["args"].clone()).expect("args");
        assert_eq!(args[0], "worker");
        let WorkerCommand::Run(run) = WorkerCommand::parse_argv(&args[1..]).expect("the worker parses its Pod's args")
        else {
            panic!("not run: {args:?}");
        };
        assert_eq!(run.listen.to_string(), "0.0.0.0:7681");
        assert_eq!(run.cwd.as_deref(), Some(std::path::Path::new("/data/worktrees/web/fix-tests")));
        assert_eq!(run.config_dir.as_deref(), Some(std::path::Path::new(CLAUDE_HOME)));
        assert_eq!(run.resume, Some(uuid::Uuid::from_u128(0x99999999_2222_3333_4444_555555555555)));
        assert_eq!(run.session_id, None);
        assert_eq!(run.mode, SessionMode::Oneshot);
        assert_eq!(run.model.as_deref(), Some("sonnet"));
        assert_eq!(run.permission_mode, Some(PermissionMode::AcceptEdits));
        assert_eq!(run.prompt.as_deref(), Some("fix the tests"));
        assert_eq!(run.claude_integration, Integration::On);
        let mounts = &pod["spec"]["containers"][0]["volumeMounts"];
        assert!(
            mounts.as_array().is_some_and(|m| m.iter().any(|v| v["mountPath"] == "/srv/web")),
            "the repo at its own path"
        );
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn settings_come_from_the_environment_with_defaults() {
        let settings = PodSettings::from_env(env(&[(ENV_IMAGE, "cockpit-worker:1.2.3")]), "claude").expect("settings");
        assert_eq!(
            settings,
            PodSettings { image: "cockpit-worker:1.2.3".into(), command: "claude".into(), ..PodSettings::default() }
        );
        let settings = PodSettings::from_env(
            env(&[
                (ENV_IMAGE, "w:1"),
                (ENV_DATA_PVC, "data"),
                (ENV_PORT, "9000"),
                (
                    ENV_RESOURCES,
                    r#"{"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": 2, "memory": "2Gi"}}"#,
                ),
            ]),
            "/bin/cli",
        )
        .expect("settings");
        assert_eq!((settings.data_pvc.as_str(), settings.port, settings.command.as_str()), ("data", 9000, "/bin/cli"));
        let (session, account) = (session("Interactive"), account("OAuthToken"));
        let new = Conversation::New(uuid::Uuid::from_u128(1));
        let start = WorkerStart { size: Some((61, 23)), ..WorkerStart::new(&session, &account, "/srv/web", new) };
        let pod = serde_json::to_value(worker_pod(&start, &settings)).expect("json");
        let c = &pod["spec"]["containers"][0];
        assert_eq!(
            c["resources"],
            serde_json::json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}})
        );
        assert_eq!(c["ports"][0]["containerPort"], 9000);
        assert_eq!(c["readinessProbe"]["httpGet"]["port"], 9000);
        assert!(c["args"].to_string().contains("0.0.0.0:9000"));
        let args: Vec<&str> = c["args"].as_array().expect("args").iter().filter_map(|a| a.as_str()).collect();
        let run = |args: &[&str]| match WorkerCommand::parse_argv(&args[1..]) {
            Ok(WorkerCommand::Run(run)) => run,
            other => panic!("not run: {other:?}"),
        };
        let parsed = run(&args);
        assert_eq!((parsed.cols, parsed.rows), (61, 23), "{args:?}");
        assert_eq!(parsed.ring_bytes, DEFAULT_RING_BYTES, "the worker's default ring: {args:?}");

        let settings = PodSettings { ring_bytes: Some(4 << 20), ..settings };
        let start = WorkerStart { size: None, ..start };
        let pod = serde_json::to_value(worker_pod(&start, &settings)).expect("json");
        let args: Vec<&str> =
            pod["spec"]["containers"][0]["args"].as_array().expect("args").iter().filter_map(|a| a.as_str()).collect();
        let parsed = run(&args);
        assert_eq!(parsed.ring_bytes, 4 << 20, "{args:?}");
        assert_eq!((parsed.cols, parsed.rows), (DEFAULT_COLS, DEFAULT_ROWS), "{args:?}");
    }

    #[test]
    fn bad_settings_are_refused_with_the_variable_named() {
        let err = PodSettings::from_env(env(&[]), "claude").expect_err("no image");
        assert!(err.to_string().contains(ENV_IMAGE), "{err}");
        for (value, why) in [
            ("{", "not JSON"),
            ("[]", "JSON object"),
            (r#"{"request": {}}"#, "unknown key"),
            (r#"{"limits": {"memory": "lots"}}"#, "not a quantity"),
            (r#"{"limits": {"memory": "1.Gi"}}"#, "not a quantity"),
            (r#"{"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}"#, "above its limit"),
        ] {
            let err =
                PodSettings::from_env(env(&[(ENV_IMAGE, "w"), (ENV_RESOURCES, value)]), "claude").expect_err(value);
            let text = err.to_string();
            assert!(text.starts_with(ENV_RESOURCES) && text.contains(why), "{value}: {text}");
        }
        for port in ["0", "70000", "http"] {
            let err = PodSettings::from_env(env(&[(ENV_IMAGE, "w"), (ENV_PORT, port)]), "claude").expect_err(port);
            assert!(err.to_string().contains(ENV_PORT), "{err}");
        }
    }

    #[test]
    fn quantities_read_as_kubernetes_reads_them() {
        assert_eq!(quantity_value("500m"), Some(0.5));
        assert_eq!(quantity_value("1Ki"), Some(1024.0));
        assert_eq!(quantity_value("1.5k"), Some(1500.0));
        assert_eq!(quantity_value("3"), Some(3.0));
        for bad in ["", "Mi", "1..5", "-1", "1 Gi", "1gb"] {
            assert_eq!(quantity_value(bad), None, "{bad}");
        }
    }

    #[test]
    fn long_names_fit_the_generate_name_limit() {
        assert_eq!(
            truncate("a-very-long-session-name-that-goes-on-and-on-forever", 40),
            "a-very-long-session-name-that-goes-on-an"
        );
        assert_eq!(truncate("short", 40), "short");
        assert_eq!(truncate("abc-", 4), "abc");
    }
}
