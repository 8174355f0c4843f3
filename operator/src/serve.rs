//! `cockpit serve`: the control plane on one port (embedded default: local workers, SQLite).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::{broadcast, mpsc};

use crate::app::App;
use crate::backend::Backend;
use crate::config::Config;
use crate::k8s::KubeBackend;
use crate::runtime::{LocalBackend, LocalRuntime, WorkerSettings};
use crate::store::Store;
use crate::streams::Streams;

/// What `cockpit serve` needs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where the database (SQLite), worktrees, the Claude home and logs live.
    pub data_dir: PathBuf,
    /// The config file, if any.
    pub config: Option<PathBuf>,
    /// `DATABASE_URL` (a postgres URL), if set.
    pub database_url: Option<String>,
    /// The built PWA to serve, if present.
    pub pwa_dir: Option<PathBuf>,
    /// Local worker processes, or Kubernetes pods.
    pub runtime: RuntimeKind,
}

/// Where sessions run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeKind {
    /// Local worker processes, sessions in the database (the embedded default).
    Local,
    /// `ClaudeSession` resources with one worker Pod each (in-cluster or with a kubeconfig).
    Kube,
}

/// Loads everything, re-adopts running workers, serves until SIGTERM/SIGINT, then stops the
/// workers (their sessions resume on the next start).
pub async fn serve(opts: ServeOptions) -> Result<()> {
    let config = match &opts.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    for hint in config.hints_for(opts.runtime == RuntimeKind::Local, crate::env_secrets::get) {
        tracing::warn!("{hint}");
    }
    std::fs::create_dir_all(&opts.data_dir)
        .with_context(|| format!("creating the data dir {}", opts.data_dir.display()))?;
    let url = match &opts.database_url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", opts.data_dir.join("cockpit.db").display()),
    };
    let store = Store::connect(&url).await?;
    tracing::info!(database = %store.redacted_url(), "database ready");
    for account in &config.accounts {
        store.upsert_account(&account.name, account.priority, account.max_sessions).await?;
    }
    if config.accounts.is_empty() {
        store.upsert_account(crate::app::IMPLICIT_ACCOUNT, 0, None).await?;
    }
    let (reconcile_tx, reconcile_rx) = mpsc::unbounded_channel();
    // Workers are this very binary (`cockpit worker run …`) unless the config names another.
    let (worker_bin, worker_args) = match &config.worker.bin {
        Some(_) => (config.worker.resolve_bin(), Vec::new()),
        None => (std::env::current_exe().context("locating the cockpit binary")?, vec!["worker".to_owned()]),
    };
    let settings = WorkerSettings {
        worker_bin,
        worker_args,
        command: config.worker.command.clone(),
        ring_bytes: config.worker.ring_bytes,
        claude_home: opts.data_dir.join("claude-home"),
        log_dir: opts.data_dir.join("logs"),
        grace_secs: 10,
    };
    tracing::info!(worker = %settings.worker_bin.display(), command = %settings.command, "workers");
    let keys = crate::worker_credentials::WorkerKeys::load_or_create(&store).await?;
    let streams = Streams::new(store.clone());
    // The one place the two runtimes differ: everything else talks to the backend.
    let backend: Arc<dyn Backend> = match opts.runtime {
        RuntimeKind::Local => {
            let runtime =
                LocalRuntime::new(settings, store.clone(), streams.clone(), keys.clone(), reconcile_tx.clone());
            let adopted = runtime.adopt_all().await?;
            if adopted > 0 {
                tracing::info!(adopted, "re-adopted running workers");
            }
            Arc::new(LocalBackend::new(runtime))
        }
        RuntimeKind::Kube => {
            let client = kube::Client::try_default()
                .await
                .context("connecting to the Kubernetes API (in a cluster, or with KUBECONFIG)")?;
            let namespace =
                std::env::var("COCKPIT_NAMESPACE").unwrap_or_else(|_| client.default_namespace().to_owned());
            tracing::info!(%namespace, "Kubernetes runtime");
            Arc::new(KubeBackend { client, namespace })
        }
    };
    let app_command = config.worker.command.clone();
    let (changes, _) = broadcast::channel(1024);
    let app = Arc::new(App {
        config,
        config_source: opts.config.clone(),
        store,
        backend,
        streams,
        worker_keys: keys,
        data_dir: opts.data_dir.clone(),
        changes,
        reconcile: reconcile_tx,
        claude_version: cli_version(&app_command).await,
        shutdown: tokio::sync::watch::channel(false).0,
    });
    // Web Push: the VAPID key (made on the first start, reused after) and the notifier, which
    // follows the change feed from before the controller announces anything.
    let notifier = crate::push::notifier::start(app.clone()).await.context("starting Web Push notifications")?;
    // Output streams of sessions nobody watches are closed (their output stays in the database).
    tokio::spawn({
        let app = app.clone();
        async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                every.tick().await;
                let closed = app.streams.close_unused(|id| app.backend.has_worker(id)).await;
                if closed > 0 {
                    tracing::debug!(closed, open = app.streams.len(), "closed unused output streams");
                }
            }
        }
    });
    let controller = app.backend.start_controllers(app.clone(), reconcile_rx)?;
    let router = crate::gateway::router(app.clone(), opts.pwa_dir.clone());
    let listener =
        tokio::net::TcpListener::bind(opts.listen).await.with_context(|| format!("binding {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    println!("listening on http://{addr}");
    tracing::info!(%addr, "Claude Cockpit is up");
    let bound = shutdown_bound(std::env::var("COCKPIT_SHUTDOWN_SECS").ok().as_deref())?;
    let stopping = {
        let app = app.clone();
        async move {
            shutdown_signal().await;
            tracing::info!(bound_secs = bound.as_secs(), "stopping: closing connections");
            app.shutdown.send_replace(true);
        }
    };
    let server = std::future::IntoFuture::into_future(axum::serve(listener, router).with_graceful_shutdown(stopping));
    tokio::pin!(server);
    // Connections get half the bound to close (terminals and the change stream close at once
    // with "restarting"); the workers' pause gets the rest.
    let deadline = async {
        let mut stopping = app.shutdown.subscribe();
        let _ = stopping.wait_for(|s| *s).await;
        let started = tokio::time::Instant::now();
        tokio::time::sleep(bound / 2).await;
        started
    };
    let started = tokio::select! {
        served = &mut server => {
            served?;
            tokio::time::Instant::now()
        }
        started = deadline => {
            tracing::warn!("connections still open after {:?}: closed", bound / 2);
            started
        }
    };
    tracing::info!("stopping workers");
    controller.abort();
    notifier.abort();
    let left = bound.saturating_sub(started.elapsed()).max(std::time::Duration::from_secs(1));
    if tokio::time::timeout(left, app.backend.stop_workers(&app)).await.is_err() {
        tracing::warn!("workers still stopping after {bound:?}: their sessions resume on the next start");
    }
    Ok(())
}

/// How long a stop may take (`COCKPIT_SHUTDOWN_SECS`, 1..=300, default 10). The chart's
/// `terminationGracePeriodSeconds` is set above it.
pub fn shutdown_bound(value: Option<&str>) -> anyhow::Result<std::time::Duration> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(std::time::Duration::from_secs(10));
    };
    match value.parse::<u64>() {
        Ok(secs @ 1..=300) => Ok(std::time::Duration::from_secs(secs)),
        _ => anyhow::bail!("COCKPIT_SHUTDOWN_SECS must be a whole number of seconds from 1 to 300, not {value:?}"),
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// `CLI --version`'s first word (`2.1.197`), when the CLI answers within a few seconds. A
/// command that does not behave (prints without end, never exits) is killed, and at most 4 KiB
/// of what it printed is read.
async fn cli_version(command: &str) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut child = tokio::process::Command::new(command)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let probe = async {
        let mut printed = Vec::new();
        (&mut stdout).take(4096).read_to_end(&mut printed).await.ok()?;
        drop(stdout);
        let status = child.wait().await.ok()?;
        Some((status, printed))
    };
    let (status, printed) = tokio::time::timeout(std::time::Duration::from_secs(5), probe).await.ok()??;
    let text = String::from_utf8_lossy(&printed);
    status.success().then(|| text.split_whitespace().next().map(str::to_owned)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_bound_is_ten_seconds_unless_set_to_a_sane_number() {
        assert_eq!(shutdown_bound(None).ok(), Some(std::time::Duration::from_secs(10)));
        assert_eq!(shutdown_bound(Some(" ")).ok(), Some(std::time::Duration::from_secs(10)));
        assert_eq!(shutdown_bound(Some("25")).ok(), Some(std::time::Duration::from_secs(25)));
        for bad in ["0", "301", "-1", "ten", "1.5"] {
            let err = shutdown_bound(Some(bad)).expect_err(bad).to_string();
            assert!(err.contains("COCKPIT_SHUTDOWN_SECS") && err.contains(bad), "{err}");
        }
    }
}
