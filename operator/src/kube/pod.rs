//! The worker Pod of a session, built by a pure function.

use std::collections::BTreeMap;

use cockpit_crds::{ClaudeAccount, ClaudeSession, CredentialKind, SessionMode};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction, HostPathVolumeSource,
    PersistentVolumeClaimVolumeSource, Pod, PodSecurityContext, PodSpec, Probe, ResourceRequirements,
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
/// The port the worker serves on.
pub const WORKER_PORT: i32 = 7681;
/// Where the Claude home (shared by all sessions) is mounted in workers.
pub const CLAUDE_HOME: &str = "/claude-home";
/// Where session worktrees live, at the same path in the control plane and the workers (git
/// worktrees record absolute paths).
pub const WORKTREES: &str = "/data/worktrees";

/// Cluster-wide settings for worker Pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodSettings {
    /// The worker image (it holds `cockpit` and the Claude CLI).
    pub image: String,
    /// The PVC holding the Claude home (`claude-home/`) and the worktrees (`worktrees/`).
    pub data_pvc: String,
    /// The CLI the worker runs.
    pub command: String,
    /// CPU request, e.g. `250m`.
    pub cpu_request: String,
    /// Memory request (a Claude CLI takes 0.5–1 GiB).
    pub memory_request: String,
    /// Memory limit.
    pub memory_limit: String,
}

impl Default for PodSettings {
    fn default() -> PodSettings {
        PodSettings {
            image: "cockpit-worker:latest".into(),
            data_pvc: "cockpit-data".into(),
            command: "claude".into(),
            cpu_request: "250m".into(),
            memory_request: "512Mi".into(),
            memory_limit: "1536Mi".into(),
        }
    }
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
    pub conversation: Conversation<'a>,
    /// The prompt to start with.
    pub prompt: Option<&'a str>,
}

/// Which conversation a worker runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conversation<'a> {
    /// A new conversation with this id.
    New(&'a str),
    /// Resume this conversation.
    Resume(&'a str),
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

/// The worker Pod for `start`: owned by the session, the account's token from its Secret
/// through `secretKeyRef` (never copied), non-root, read-only root filesystem, no privilege
/// escalation, all capabilities dropped, requests and limits, a readiness probe on `/healthz`.
pub fn worker_pod(start: &WorkerStart<'_>, settings: &PodSettings) -> Pod {
    let session = start.session;
    let name = session.metadata.name.clone().unwrap_or_default();
    let account_name = start.account.metadata.name.clone().unwrap_or_default();
    let spec = &session.spec;
    let mut args: Vec<String> = vec![
        "worker".into(),
        "run".into(),
        "--listen".into(),
        format!("0.0.0.0:{WORKER_PORT}"),
        "--cwd".into(),
        start.cwd.to_owned(),
        "--config-dir".into(),
        CLAUDE_HOME.into(),
        "--command".into(),
        settings.command.clone(),
        "--claude-integration".into(),
        "on".into(),
        "--linger-secs".into(),
        "5".into(),
    ];
    match start.conversation {
        Conversation::New(id) => args.extend(["--session-id".into(), id.to_owned()]),
        Conversation::Resume(id) => args.extend(["--resume".into(), id.to_owned()]),
    }
    if spec.mode == SessionMode::Oneshot {
        args.extend(["--mode".into(), "oneshot".into()]);
    }
    if let Some(prompt) = start.prompt {
        args.extend(["--prompt".into(), prompt.to_owned()]);
    }
    if let Some(model) = &spec.model {
        args.extend(["--model".into(), model.clone()]);
    }
    if let Some(mode) = spec.permission_mode {
        args.extend(["--permission-mode".into(), mode.as_cli_arg().into()]);
    }
    let credentials = &start.account.spec.credentials;
    let token_var = match credentials.kind {
        CredentialKind::OAuthToken => "CLAUDE_CODE_OAUTH_TOKEN",
        CredentialKind::ApiKey => "ANTHROPIC_API_KEY",
    };
    let env = vec![
        EnvVar {
            name: token_var.into(),
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
        EnvVar { name: "HOME".into(), value: Some("/tmp/home".into()), ..EnvVar::default() },
        EnvVar { name: "COCKPIT_LOG".into(), value: Some("info".into()), ..EnvVar::default() },
    ];
    let quantity = |q: &str| Quantity(q.to_owned());
    let container = Container {
        name: "worker".into(),
        image: Some(settings.image.clone()),
        command: Some(vec!["cockpit".into()]),
        args: Some(args),
        env: Some(env),
        ports: Some(vec![ContainerPort {
            container_port: WORKER_PORT,
            name: Some("ws".into()),
            ..ContainerPort::default()
        }]),
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/healthz".into()),
                port: IntOrString::Int(WORKER_PORT),
                ..HTTPGetAction::default()
            }),
            period_seconds: Some(2),
            ..Probe::default()
        }),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), quantity(&settings.cpu_request)),
                ("memory".to_owned(), quantity(&settings.memory_request)),
            ])),
            limits: Some(BTreeMap::from([("memory".to_owned(), quantity(&settings.memory_limit))])),
            ..ResourceRequirements::default()
        }),
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
    let owner = OwnerReference {
        api_version: ClaudeSession::api_version(&()).into_owned(),
        kind: ClaudeSession::kind(&()).into_owned(),
        name: name.clone(),
        uid: session.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("cockpit-{}-", truncate(&name, 40))),
            namespace: session.metadata.namespace.clone(),
            labels: Some(labels(&name, &account_name)),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![container],
            restart_policy: Some("Never".into()),
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

    fn build(mode: &str, kind: &str, conversation: Conversation<'_>) -> serde_json::Value {
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
            },
            &PodSettings::default(),
        );
        serde_json::to_value(pod).expect("json")
    }

    #[test]
    fn the_token_comes_from_the_secret_and_nowhere_else() {
        let pod = build("Interactive", "OAuthToken", Conversation::New("11111111-2222-3333-4444-555555555555"));
        let env = &pod["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["name"], "CLAUDE_CODE_OAUTH_TOKEN");
        assert_eq!(
            env[0]["valueFrom"]["secretKeyRef"],
            serde_json::json!({"name": "claude-personal", "key": "token", "optional": false})
        );
        assert!(env[0].get("value").is_none());
        let api = build("Interactive", "ApiKey", Conversation::New("x"));
        assert_eq!(api["spec"]["containers"][0]["env"][0]["name"], "ANTHROPIC_API_KEY");
    }

    #[test]
    fn the_pod_is_locked_down_and_owned_by_the_session() {
        let pod = build("Interactive", "OAuthToken", Conversation::New("x"));
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["runAsNonRoot"], true);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(pod["spec"]["automountServiceAccountToken"], false);
        assert_eq!(pod["spec"]["restartPolicy"], "Never");
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
        let pod = build("Oneshot", "OAuthToken", Conversation::Resume("99999999-2222-3333-4444-555555555555"));
        let args: Vec<String> = serde_json::from_value(pod["spec"]["containers"][0]["args"].clone()).expect("args");
        let joined = args.join(" ");
        assert!(
            joined.starts_with(
                "worker run --listen 0.0.0.0:7681 --cwd /data/worktrees/web/fix-tests --config-dir /claude-home"
            ),
            "{joined}"
        );
        for part in [
            "--resume 99999999-2222-3333-4444-555555555555",
            "--mode oneshot",
            "--model sonnet",
            "--permission-mode acceptEdits",
        ] {
            assert!(joined.contains(part), "{part} in {joined}");
        }
        assert!(args.windows(2).any(|w| w == ["--prompt", "fix the tests"]));
        let mounts = &pod["spec"]["containers"][0]["volumeMounts"];
        assert!(
            mounts.as_array().is_some_and(|m| m.iter().any(|v| v["mountPath"] == "/srv/web")),
            "the repo at its own path"
        );
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
