//! From Helm values to worker Pods: the chart renders `worker.resources` into the control
//! plane's environment, and what it renders is what the operator reads
//! ([`PodSettings::from_env`]) and puts on every worker Pod. Uses the real `helm` from
//! `COCKPIT_CHART_TOOLS` (default `target/chart-tools`, filled by ./test.sh); a missing helm is
//! a failure, not a skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cockpit_api::{ClaudeAccount, ClaudeSession};
use cockpit_operator::k8s::pod::{Conversation, ENV_RESOURCES, PodSettings, WorkerStart, worker_pod};
use serde::Deserialize;
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn helm() -> Command {
    let tools =
        std::env::var_os("COCKPIT_CHART_TOOLS").map(PathBuf::from).unwrap_or_else(|| root().join("target/chart-tools"));
    let helm = tools.join("bin/helm");
    assert!(helm.is_file(), "{} is missing: run ./test.sh once, or set COCKPIT_CHART_TOOLS", helm.display());
    let mut cmd = Command::new(helm);
    let home = std::env::temp_dir().join("cockpit-kube-chart-test-helm");
    cmd.env("KUBECONFIG", home.join("no-kubeconfig"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .stdin(Stdio::null());
    cmd
}

/// `helm template` with `--set` arguments: Ok(objects), or Err(stderr).
fn render(sets: &[&str]) -> Result<Vec<Value>, String> {
    let mut cmd = helm();
    cmd.args(["template", "cockpit"]).arg(root().join("charts/cockpit")).args(["--namespace", "cockpit"]);
    for set in sets {
        cmd.args(["--set", set]);
    }
    let out = cmd.output().expect("helm runs");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let yaml = String::from_utf8_lossy(&out.stdout).into_owned();
    Ok(serde_yaml::Deserializer::from_str(&yaml)
        .filter_map(|doc| Value::deserialize(doc).ok().filter(|v| !v.is_null()))
        .collect())
}

/// The control plane container's environment (plain values only).
fn control_plane_env(objects: &[Value]) -> Vec<(String, String)> {
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").expect("the Deployment");
    deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?.to_owned(), e["value"].as_str()?.to_owned())))
        .collect()
}

/// The worker Pod the operator builds with the settings read from `env`.
fn worker_resources(env: &[(String, String)]) -> Result<Value, String> {
    let settings = PodSettings::from_env(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()), "claude")
        .map_err(|e| e.to_string())?;
    let session: ClaudeSession = serde_json::from_value(json!({
        "apiVersion": "cockpit.dev/v1alpha1", "kind": "ClaudeSession",
        "metadata": {"name": "s", "namespace": "cockpit", "uid": "u"}, "spec": {"repo": "web"},
    }))
    .expect("session");
    let account: ClaudeAccount = serde_json::from_value(json!({
        "apiVersion": "cockpit.dev/v1alpha1", "kind": "ClaudeAccount",
        "metadata": {"name": "a", "namespace": "cockpit"}, "spec": {"credentials": {"secretName": "claude-a"}},
    }))
    .expect("account");
    let start = WorkerStart::new(&session, &account, "/srv/web", Conversation::New(uuid::Uuid::from_u128(1)));
    let pod = serde_json::to_value(worker_pod(&start, &settings)).expect("json");
    Ok(pod["spec"]["containers"][0]["resources"].clone())
}

#[test]
fn the_default_values_give_workers_half_a_gibibyte_requested_and_a_limit() {
    let env = control_plane_env(&render(&[]).expect("renders"));
    assert!(env.iter().any(|(k, _)| k == ENV_RESOURCES), "the chart passes {ENV_RESOURCES}");
    assert_eq!(
        worker_resources(&env).expect("the operator accepts the chart's defaults"),
        json!({"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1536Mi"}})
    );
}

#[test]
fn worker_resources_set_in_values_reach_every_worker_pod() {
    let objects = render(&[
        "worker.resources.requests.memory=1Gi",
        "worker.resources.requests.cpu=500m",
        "worker.resources.limits.memory=2Gi",
        "worker.resources.limits.cpu=2",
        "worker.resources.limits.ephemeral-storage=4Gi",
    ])
    .expect("renders");
    let resources = worker_resources(&control_plane_env(&objects)).expect("accepted");
    assert_eq!(
        resources,
        json!({
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "2", "memory": "2Gi", "ephemeral-storage": "4Gi"},
        })
    );
}

#[test]
fn bad_worker_resources_are_refused_with_a_clear_message() {
    let err = render(&["worker.resources.limits.memory=lots"]).expect_err("not a quantity");
    assert!(err.contains("/worker/resources/limits/memory") && err.contains("lots"), "{err}");
    let err = render(&["worker.resources.requested.memory=1Gi"]).expect_err("unknown key");
    assert!(err.contains("requested"), "{err}");
    // A request above its limit is a valid value but no valid Pod: the control plane refuses
    // to start with it, naming the variable and the resource.
    let objects =
        render(&["worker.resources.requests.memory=3Gi", "worker.resources.limits.memory=2Gi"]).expect("renders");
    let err = worker_resources(&control_plane_env(&objects)).expect_err("refused");
    assert!(err.contains(ENV_RESOURCES) && err.contains("memory request is above its limit"), "{err}");
}
