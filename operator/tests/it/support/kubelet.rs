//! A stand-in for the scheduler and the kubelet of a one-node cluster: it runs the Pods of an
//! [`ApiServer`] stand-in as local processes and reports them back the way a kubelet does.
//!
//! For each new Pod in its namespace it binds the Pod to its node (`spec.nodeName`), then starts
//! the one container:
//! - the **image** is a table of executables ([`KubeletConfig::images`]): `command[0]` is looked up
//!   in it (an unknown image is an `ErrImagePull`);
//! - the **environment** holds the container's `env`: plain values, `secretKeyRef` read from the
//!   stand-in's Secrets (a missing Secret or key is a `CreateContainerConfigError` with the
//!   kubelet's message, the Pod stays Pending), and `fieldRef` (name, namespace, pod IP); plus
//!   the host's `PATH` (what the image would set);
//! - **volumes** map each mount path to a host directory: a `hostPath` to itself, a
//!   `persistentVolumeClaim` to the directory given for that claim ([`KubeletConfig::claims`]),
//!   an `emptyDir` to a fresh directory; `subPath`s below them. Arguments, `env` values and the
//!   working directory under a mount path are rewritten to the host directory;
//! - the **network**: each Pod gets its own loopback address (127.0.0.2, 127.0.0.3, …) as
//!   `status.podIP`, and an argument listening on `0.0.0.0:PORT` listens on that address instead
//!   (the Pod's own network namespace, in effect).
//!
//! The Pod is then `Running` with its IP; it becomes Ready when its readiness probe
//! (`httpGet`) answers 200; when the process ends the Pod is `Succeeded` or `Failed` with the
//! container's exit code (`restartPolicy: Never`). A graceful deletion (`deletionTimestamp`)
//! sends SIGTERM, waits up to the grace period, then SIGKILLs the process group, and removes the
//! Pod (a delete with `gracePeriodSeconds=0`), as the kubelet does.
//!
//! Not stood in for: users and security contexts (processes run as the test's user), resource
//! limits, restarts, running more than the first container (the others' Secret references are
//! checked, as the kubelet does before starting any), images' own entrypoints.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};

use super::apiserver::{ApiServer, PatchKind, base64_decode};

/// Loopback addresses handed out as Pod IPs, shared by every kubelet of the test process.
static NEXT_IP: AtomicU32 = AtomicU32::new(2);

/// What the kubelet stand-in runs Pods with.
#[derive(Clone, Debug, Default)]
pub struct KubeletConfig {
    /// Where Pod sandboxes (emptyDirs, logs) are made.
    pub root: PathBuf,
    /// The namespace whose Pods it runs.
    pub namespace: String,
    /// Image → (command name → local executable).
    pub images: HashMap<String, HashMap<String, PathBuf>>,
    /// PersistentVolumeClaim name → the directory that backs it.
    pub claims: HashMap<String, PathBuf>,
}

struct Running {
    pid: u32,
    terminating: bool,
}

struct Inner {
    api: ApiServer,
    config: KubeletConfig,
    node: String,
    running: Mutex<HashMap<String, Running>>,
    exits: Mutex<HashMap<String, i32>>,
    exited: tokio::sync::Notify,
}

impl Inner {
    fn running(&self) -> MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn exits(&self) -> MutexGuard<'_, HashMap<String, i32>> {
        self.exits.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running kubelet stand-in. Dropping it stops its processes (SIGTERM, then SIGKILL).
pub struct Kubelet {
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

/// Why a container cannot start (reported as `state.waiting`).
struct Waiting {
    reason: &'static str,
    message: String,
}

fn waiting(reason: &'static str, message: impl Into<String>) -> Waiting {
    Waiting { reason, message: message.into() }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn name_of(pod: &Value) -> String {
    pod.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_owned()
}

impl Kubelet {
    /// Starts running the Pods of `config.namespace`.
    pub fn start(api: ApiServer, config: KubeletConfig) -> Kubelet {
        std::fs::create_dir_all(config.root.join("logs")).expect("kubelet root");
        let inner = Arc::new(Inner {
            api,
            config,
            node: "stand-in-node".into(),
            running: Mutex::default(),
            exits: Mutex::default(),
            exited: tokio::sync::Notify::new(),
        });
        let task = tokio::spawn(sync_loop(inner.clone()));
        Kubelet { inner, task }
    }

    /// The exit code of the Pod's container, once it ended.
    pub fn exit_code(&self, pod: &str) -> Option<i32> {
        self.inner.exits().get(pod).copied()
    }

    /// The process id of the Pod's container while it runs.
    pub fn pid(&self, pod: &str) -> Option<u32> {
        self.inner.running().get(pod).map(|r| r.pid)
    }

    /// The container's output so far (stdout and stderr).
    pub fn log(&self, pod: &str) -> String {
        std::fs::read_to_string(self.inner.config.root.join("logs").join(format!("{pod}.log"))).unwrap_or_default()
    }

    /// Waits until the Pod's container ended, and returns its exit code.
    pub async fn wait_exit(&self, pod: &str, timeout: Duration) -> Option<i32> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.exited.notified();
            if let Some(code) = self.exit_code(pod) {
                return Some(code);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.exit_code(pod);
            }
        }
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.task.abort();
        let pids: Vec<u32> = self.inner.running().values().map(|r| r.pid).collect();
        for pid in &pids {
            // SAFETY: kill(2) on a process (group) this kubelet started.
            unsafe { libc::kill(*pid as i32, libc::SIGTERM) };
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        for pid in pids {
            loop {
                // SAFETY: kill(2) with signal 0 only checks that the process exists.
                let alive = unsafe { libc::kill(pid as i32, 0) } == 0;
                if !alive {
                    break;
                }
                if std::time::Instant::now() > deadline {
                    // SAFETY: as above; the whole process group of the container.
                    unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

async fn sync_loop(inner: Arc<Inner>) {
    let mut cursor = 0;
    loop {
        let (changes, next) = inner.api.changes("pods", cursor, Duration::from_secs(3600)).await;
        cursor = next;
        for change in changes {
            if change.namespace != inner.config.namespace {
                continue;
            }
            let pod = change.after;
            let name = name_of(&pod);
            if change.deleted {
                terminate(&inner, &name, 0);
                continue;
            }
            if pod.pointer("/metadata/deletionTimestamp").is_some() {
                let grace = pod.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_u64).unwrap_or(30);
                let started = inner.running().contains_key(&name);
                if started {
                    terminate(&inner, &name, grace);
                } else {
                    let _ = inner.api.delete("pods", &inner.config.namespace, &name, Some(0));
                }
                continue;
            }
            let bound = pod.pointer("/spec/nodeName").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
            if !bound && change.before.is_none() {
                let bind = json!({"spec": {"nodeName": inner.node}});
                if inner.api.patch("pods", &inner.config.namespace, &name, false, PatchKind::Merge, bind).is_ok() {
                    run_pod(&inner, &pod);
                }
            }
        }
    }
}

fn set_status(inner: &Inner, pod: &str, status: Value) {
    let patch = json!({ "status": status });
    let _ = inner.api.patch("pods", &inner.config.namespace, pod, true, PatchKind::Merge, patch);
}

fn container_status(image: &str, ready: bool, state: Value) -> Value {
    json!([{ "name": "worker", "image": image, "imageID": "", "ready": ready, "restartCount": 0,
             "started": state.get("running").is_some(), "state": state }])
}

/// Starts the Pod's container, or reports why it cannot start.
fn run_pod(inner: &Arc<Inner>, pod: &Value) {
    let name = name_of(pod);
    let image = pod.pointer("/spec/containers/0/image").and_then(Value::as_str).unwrap_or_default().to_owned();
    match start_container(inner, pod) {
        Ok((pid, ip)) => {
            set_status(
                inner,
                &name,
                json!({
                    "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "127.0.0.1", "startTime": now(),
                    "conditions": [
                        {"type": "PodScheduled", "status": "True"},
                        {"type": "Initialized", "status": "True"},
                        {"type": "ContainersReady", "status": "False"},
                        {"type": "Ready", "status": "False"},
                    ],
                    "containerStatuses": container_status(&image, false, json!({"running": {"startedAt": now()}})),
                }),
            );
            tracing::info!(pod = %name, pid, %ip, "stand-in kubelet started the pod");
            tokio::spawn(probe(inner.clone(), pod.clone(), ip));
            let _ = pid;
        }
        Err(Waiting { reason, message }) => {
            tracing::info!(pod = %name, reason, %message, "stand-in kubelet cannot start the pod");
            set_status(
                inner,
                &name,
                json!({
                    "phase": "Pending",
                    "conditions": [{"type": "PodScheduled", "status": "True"}],
                    "containerStatuses": container_status(&image, false, json!({"waiting": {"reason": reason, "message": message}})),
                }),
            );
        }
    }
}

/// Host directories for the container's mount paths, longest first.
fn mounts(inner: &Inner, pod: &Value, sandbox: &Path) -> Result<Vec<(String, PathBuf)>, Waiting> {
    let volumes = pod.pointer("/spec/volumes").and_then(Value::as_array).cloned().unwrap_or_default();
    let container_mounts =
        pod.pointer("/spec/containers/0/volumeMounts").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out = Vec::new();
    for mount in container_mounts {
        let volume_name = mount.get("name").and_then(Value::as_str).unwrap_or_default();
        let mount_path = mount.get("mountPath").and_then(Value::as_str).unwrap_or_default().to_owned();
        let volume =
            volumes.iter().find(|v| v.get("name").and_then(Value::as_str) == Some(volume_name)).ok_or_else(|| {
                waiting("CreateContainerConfigError", format!("volume {volume_name:?} is not in the pod"))
            })?;
        let base = if let Some(path) = volume.pointer("/hostPath/path").and_then(Value::as_str) {
            PathBuf::from(path)
        } else if let Some(claim) = volume.pointer("/persistentVolumeClaim/claimName").and_then(Value::as_str) {
            inner.config.claims.get(claim).cloned().ok_or_else(|| {
                waiting("CreateContainerConfigError", format!("persistentvolumeclaim \"{claim}\" not found"))
            })?
        } else if volume.get("emptyDir").is_some() {
            sandbox.join("volumes").join(volume_name)
        } else {
            return Err(waiting("CreateContainerConfigError", format!("volume {volume_name:?}: unsupported type")));
        };
        let host = match mount.get("subPath").and_then(Value::as_str) {
            Some(sub) => base.join(sub),
            None => base,
        };
        std::fs::create_dir_all(&host)
            .map_err(|e| waiting("CreateContainerError", format!("{}: {e}", host.display())))?;
        out.push((mount_path, host));
    }
    out.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    Ok(out)
}

/// The host path for a path inside the container (unchanged when no mount covers it).
/// The host path of a container path: through the most specific mount that holds it (as in a
/// container, where a mount at `/tmp/a` hides the part of a `/tmp` mount under it).
fn host_path(mounts: &[(String, PathBuf)], path: &str) -> String {
    let mut best: Option<(usize, String)> = None;
    for (mount, host) in mounts {
        let mapped = if path == mount {
            Some(host.to_string_lossy().into_owned())
        } else {
            path.strip_prefix(mount.as_str())
                .and_then(|r| r.strip_prefix('/'))
                .map(|rest| host.join(rest).to_string_lossy().into_owned())
        };
        if let Some(mapped) = mapped
            && best.as_ref().is_none_or(|(len, _)| mount.len() > *len)
        {
            best = Some((mount.len(), mapped));
        }
    }
    best.map_or_else(|| path.to_owned(), |(_, mapped)| mapped)
}

fn secret_value(inner: &Inner, name: &str, key: &str) -> Result<String, Waiting> {
    let ns = &inner.config.namespace;
    let secret = inner
        .api
        .get("secrets", ns, name)
        .ok_or_else(|| waiting("CreateContainerConfigError", format!("secret \"{name}\" not found")))?;
    let encoded = secret.pointer(&format!("/data/{key}")).and_then(Value::as_str).ok_or_else(|| {
        waiting("CreateContainerConfigError", format!("couldn't find key {key} in Secret {ns}/{name}"))
    })?;
    let bytes = base64_decode(encoded).ok_or_else(|| waiting("CreateContainerConfigError", "bad secret data"))?;
    String::from_utf8(bytes).map_err(|_| waiting("CreateContainerConfigError", "secret data is not UTF-8"))
}

fn start_container(inner: &Arc<Inner>, pod: &Value) -> Result<(u32, String), Waiting> {
    let name = name_of(pod);
    let uid = pod.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("no-uid");
    let container = pod.pointer("/spec/containers/0").ok_or_else(|| waiting("CreateContainerError", "no container"))?;
    let image = container.get("image").and_then(Value::as_str).unwrap_or_default();
    let binaries = inner.config.images.get(image).ok_or_else(|| {
        waiting("ErrImagePull", format!("failed to pull image \"{image}\": not found in the stand-in's images"))
    })?;
    let command: Vec<String> = container
        .get("command")
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let Some((program, command_args)) = command.split_first() else {
        return Err(waiting("CreateContainerError", "the stand-in needs the container's command"));
    };
    let executable = binaries.get(program).ok_or_else(|| {
        waiting("CreateContainerError", format!("exec: \"{program}\": executable file not found in $PATH"))
    })?;
    // The other containers (the API proxy) are not run, but what they reference must exist, as
    // the kubelet checks it before starting the Pod.
    for other in pod.pointer("/spec/containers").and_then(Value::as_array).into_iter().flatten().skip(1) {
        for var in other.get("env").and_then(Value::as_array).into_iter().flatten() {
            if let Some(secret) = var.pointer("/valueFrom/secretKeyRef")
                && secret.get("optional").and_then(Value::as_bool) != Some(true)
            {
                let secret_name = secret.get("name").and_then(Value::as_str).unwrap_or_default();
                let key = secret.get("key").and_then(Value::as_str).unwrap_or_default();
                secret_value(inner, secret_name, key)?;
            }
        }
    }
    let sandbox = inner.config.root.join("pods").join(uid);
    let mounts = mounts(inner, pod, &sandbox)?;

    let ip = format!("127.0.0.{}", 2 + NEXT_IP.fetch_add(1, Ordering::SeqCst) % 250);
    // The image's programs are on the container's PATH (e.g. `claude`, as in the worker image).
    let image_bin = sandbox.join("image-bin");
    std::fs::create_dir_all(&image_bin).map_err(|e| waiting("CreateContainerError", e.to_string()))?;
    for (program, path) in binaries {
        let link = image_bin.join(program);
        if !link.exists() {
            std::os::unix::fs::symlink(path, &link).map_err(|e| waiting("CreateContainerError", e.to_string()))?;
        }
    }
    let host_path_var = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
    let mut env: Vec<(String, String)> = vec![("PATH".into(), format!("{}:{host_path_var}", image_bin.display()))];
    for var in container.get("env").and_then(Value::as_array).cloned().unwrap_or_default() {
        let var_name = var.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
        let value = if let Some(value) = var.get("value").and_then(Value::as_str) {
            host_path(&mounts, value)
        } else if let Some(secret) = var.pointer("/valueFrom/secretKeyRef") {
            let secret_name = secret.get("name").and_then(Value::as_str).unwrap_or_default();
            let key = secret.get("key").and_then(Value::as_str).unwrap_or_default();
            match secret_value(inner, secret_name, key) {
                Ok(value) => value,
                Err(_) if secret.get("optional").and_then(Value::as_bool) == Some(true) => continue,
                Err(err) => return Err(err),
            }
        } else if let Some(field) = var.pointer("/valueFrom/fieldRef/fieldPath").and_then(Value::as_str) {
            match field {
                "metadata.name" => name.clone(),
                "metadata.namespace" => inner.config.namespace.clone(),
                "status.podIP" => ip.clone(),
                other => return Err(waiting("CreateContainerConfigError", format!("unsupported fieldRef {other}"))),
            }
        } else {
            String::new()
        };
        env.push((var_name, value));
    }
    let args: Vec<String> = command_args
        .iter()
        .cloned()
        .chain(
            container
                .get("args")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect::<Vec<_>>())
                .unwrap_or_default(),
        )
        .map(|arg| host_path(&mounts, &arg.replace("0.0.0.0:", &format!("{ip}:"))))
        .collect();
    let workdir = match container.get("workingDir").and_then(Value::as_str) {
        Some(dir) => PathBuf::from(host_path(&mounts, dir)),
        None => sandbox.join("root"),
    };
    std::fs::create_dir_all(&workdir).map_err(|e| waiting("CreateContainerError", e.to_string()))?;
    let log_path = inner.config.root.join("logs").join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path).map_err(|e| waiting("CreateContainerError", e.to_string()))?;
    let log_err = log.try_clone().map_err(|e| waiting("CreateContainerError", e.to_string()))?;

    let mut cmd = tokio::process::Command::new(executable);
    cmd.args(&args)
        .env_clear()
        .envs(env)
        .current_dir(&workdir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0);
    let mut child = cmd.spawn().map_err(|e| waiting("CreateContainerError", format!("starting {program}: {e}")))?;
    let pid = child.id().ok_or_else(|| waiting("CreateContainerError", "the process is gone"))?;
    inner.running().insert(name.clone(), Running { pid, terminating: false });

    let waiter = inner.clone();
    let image = image.to_owned();
    tokio::spawn(async move {
        let code = match child.wait().await {
            Ok(status) => {
                use std::os::unix::process::ExitStatusExt;
                status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(255)
            }
            Err(_) => 255,
        };
        let terminating = waiter.running().remove(&name).is_some_and(|r| r.terminating);
        waiter.exits().insert(name.clone(), code);
        waiter.exited.notify_waiters();
        tracing::info!(pod = %name, code, "stand-in kubelet: the container ended");
        let state = json!({"terminated": {
            "exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" },
            "startedAt": now(), "finishedAt": now(),
        }});
        set_status(
            &waiter,
            &name,
            json!({
                "phase": if code == 0 { "Succeeded" } else { "Failed" },
                "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "ContainersReady", "status": "False"},
                    {"type": "Ready", "status": "False"},
                ],
                "containerStatuses": container_status(&image, false, state),
            }),
        );
        if terminating {
            let _ = waiter.api.delete("pods", &waiter.config.namespace, &name, Some(0));
        }
    });
    Ok((pid, ip))
}

/// The readiness probe: the Pod is Ready once its `httpGet` answers 200 (checked every 200 ms
/// while the container runs).
async fn probe(inner: Arc<Inner>, pod: Value, ip: String) {
    let name = name_of(&pod);
    let Some(get) = pod.pointer("/spec/containers/0/readinessProbe/httpGet").cloned() else { return };
    let path = get.get("path").and_then(Value::as_str).unwrap_or("/").to_owned();
    let Some(port) = get.get("port").and_then(Value::as_u64) else { return };
    let image = pod.pointer("/spec/containers/0/image").and_then(Value::as_str).unwrap_or_default().to_owned();
    let url = format!("http://{ip}:{port}{path}");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("http client");
    while inner.running().get(&name).is_some_and(|r| !r.terminating) {
        if http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
            let started = json!({"running": {"startedAt": now()}});
            set_status(
                &inner,
                &name,
                json!({
                    "conditions": [
                        {"type": "PodScheduled", "status": "True"},
                        {"type": "Initialized", "status": "True"},
                        {"type": "ContainersReady", "status": "True"},
                        {"type": "Ready", "status": "True"},
                    ],
                    "containerStatuses": container_status(&image, true, started),
                }),
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Stops the Pod's container: SIGTERM now, SIGKILL to its process group after `grace` seconds.
fn terminate(inner: &Arc<Inner>, pod: &str, grace: u64) {
    let pid = {
        let mut running = inner.running();
        match running.get_mut(pod) {
            Some(r) if !r.terminating => {
                r.terminating = true;
                r.pid
            }
            _ => return,
        }
    };
    tracing::info!(%pod, pid, grace, "stand-in kubelet: stopping the container");
    // SAFETY: kill(2) on the container's process, which this kubelet started.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let inner = inner.clone();
    let pod = pod.to_owned();
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(grace.max(1));
        loop {
            let notified = inner.exited.notified();
            if !inner.running().contains_key(&pod) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                // SAFETY: as above; the container's whole process group.
                unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
                return;
            }
        }
    });
}
