//! `cockpit serve --runtime kube`: the session controller, the watch that mirrors sessions into
//! the database (the gateway's cache; the history outlives deleted sessions), the account
//! controller ([`super::account`]), and the streams that follow each running worker Pod.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use cockpit_api::ClaudeSession;
use cockpit_api::ids::SessionId;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Client, ResourceExt};

use super::account::AccountContext;
use super::controller::{Context, WorkerTarget, error_policy, reconcile_session};
use super::pod::PodSettings;
use crate::app::App;
use crate::store::SessionRow;

/// Settings of the Kubernetes runtime.
#[derive(Clone, Debug)]
pub struct KubeSettings {
    /// The namespace the sessions, accounts and workers live in.
    pub namespace: String,
    /// Worker Pod settings.
    pub pods: PodSettings,
}

/// The session's row in the mirror, from the object.
fn row_of(session: &ClaudeSession) -> Option<SessionRow> {
    let id = SessionId::from(session.uid()?);
    let created = session
        .metadata
        .creation_timestamp
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.0.as_second(), 0))
        .unwrap_or_else(Utc::now);
    Some(SessionRow {
        id,
        name: session.name_any(),
        repo: session.spec.repo.clone(),
        spec: session.spec.clone(),
        status: session.status.clone().unwrap_or_default(),
        created_at: created,
        updated_at: Utc::now(),
        deleted_at: None,
    })
}

/// Mirrors one session object into the database, with a `state` history entry for every
/// change of phase or activity (as the local runtime records them).
async fn mirror(app: &App, session: &ClaudeSession) -> anyhow::Result<()> {
    let Some(row) = row_of(session) else { return Ok(()) };
    let now = Utc::now();
    let previous = match app.store.get_session(&row.id).await? {
        Some(existing) => {
            if existing.status != row.status {
                app.store.update_status(&row.id, &row.status, now).await?;
            }
            Some(existing.status)
        }
        None => {
            // A new object may reuse the name of a deleted one.
            if let Some(old) = app.store.get_session_by_name(&row.name).await? {
                app.store.mark_deleted(&old.id, Utc::now()).await?;
            }
            app.store.insert_session(&row).await?;
            None
        }
    };
    let (phase, activity) = (row.status.phase, row.status.activity);
    if previous.is_none_or(|p| p.phase != phase || p.activity != activity) {
        let data = serde_json::json!({ "phase": phase, "activity": activity, "account": row.status.account });
        app.store.append_event(&row.id, now, "state", &data).await?;
    }
    if let Some(updated) = app.store.get_session(&row.id).await? {
        app.announce_session(&updated);
    }
    Ok(())
}

/// The mirror: every session object into the database (the gateway's cache), until the
/// watch ends.
fn spawn_mirror(app: Arc<App>, sessions: Api<ClaudeSession>) {
    tokio::spawn(async move {
        let stream = watcher(sessions, watcher::Config::default()).default_backoff();
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Apply(s) | watcher::Event::InitApply(s)) => {
                    if let Err(err) = mirror(&app, &s).await {
                        tracing::warn!("mirroring {}: {err:#}", s.name_any());
                    }
                }
                Ok(watcher::Event::Delete(s)) => {
                    if let Some(id) = s.uid().map(SessionId::from) {
                        let _ = app.store.mark_deleted(&id, Utc::now()).await;
                        let _ = app.changes.send(cockpit_api::api::ChangeEvent::SessionDeleted { id });
                    }
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "session watch"),
            }
        }
    });
}

/// The worker states followers report, by Pod name.
type WorkerStates = Arc<Mutex<HashMap<String, cockpit_api::WorkerState>>>;

/// Followers: one upstream stream per running worker Pod (session name → Pod name), each
/// reporting its worker's state into `states` and waking the session controller on `trigger`.
fn follower(
    app: Arc<App>,
    states: WorkerStates,
    trigger: tokio::sync::mpsc::UnboundedSender<()>,
) -> impl Fn(&SessionId, &str, Option<WorkerTarget<'_>>) + Send + Sync + 'static {
    let followed: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    move |uid: &SessionId, name: &str, target: Option<WorkerTarget<'_>>| {
        let mut map = followed.lock().unwrap_or_else(|p| p.into_inner());
        let Some(WorkerTarget { pod, endpoint }) = target else {
            // No running worker: a follower still connecting gives up (one that is connected
            // reads to the end of the worker's output first).
            map.remove(name);
            return;
        };
        if map.get(name).map(String::as_str) == Some(pod) {
            return;
        }
        map.insert(name.to_owned(), pod.to_owned());
        drop(map);
        let (app, uid, name, pod, endpoint) =
            (app.clone(), uid.clone(), name.to_owned(), pod.to_owned(), endpoint.to_owned());
        let (followed, states, trigger) = (followed.clone(), states.clone(), trigger.clone());
        tokio::spawn(async move {
            let stream = match app.streams.stream(&uid).await {
                Ok(stream) => stream,
                Err(err) => {
                    tracing::warn!("opening the stream of {name}: {err:#}");
                    return;
                }
            };
            tracing::info!(session = %name, %pod, %endpoint, "following the worker");
            let (generation, base) = stream.begin_worker(None);
            let alive_pod = pod.clone();
            let credential = app.worker_keys.credential(&uid);
            stream
                .follow(
                    endpoint,
                    credential,
                    generation,
                    base,
                    move || followed.lock().unwrap_or_else(|p| p.into_inner()).get(&name) == Some(&alive_pod),
                    move |state| {
                        states.lock().unwrap_or_else(|p| p.into_inner()).insert(pod.clone(), state);
                        let _ = trigger.send(());
                    },
                )
                .await;
        });
    }
}

/// The account controller: status kept current; an account that becomes eligible again wakes
/// the sessions (on `trigger`).
fn spawn_account_controller(
    client: Client,
    ns: String,
    recorder: Recorder,
    trigger: tokio::sync::mpsc::UnboundedSender<()>,
) {
    let account_ctx = Arc::new(AccountContext {
        client,
        recorder: Some(recorder),
        on_eligible: Some(Box::new(move |account: &str| {
            tracing::debug!(%account, "account eligible; reconciling the sessions");
            let _ = trigger.send(());
        })),
    });
    tokio::spawn(async move { super::account::run(account_ctx, &ns).await });
}

/// Runs everything until the process ends: the mirror, the account controller, and the session
/// controller with its followers.
pub async fn run(app: Arc<App>, client: Client, settings: KubeSettings) -> anyhow::Result<()> {
    let ns = settings.namespace.clone();
    let sessions: Api<ClaudeSession> = Api::namespaced(client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    spawn_mirror(app.clone(), sessions.clone());
    let (trigger_tx, trigger_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let ctx_states: WorkerStates = Arc::default();
    let follow = follower(app.clone(), ctx_states.clone(), trigger_tx.clone());
    let recorder = Recorder::new(
        client.clone(),
        Reporter { controller: "cockpit".into(), instance: std::env::var("HOSTNAME").ok() },
    );
    spawn_account_controller(client.clone(), ns.clone(), recorder.clone(), trigger_tx);
    let ctx = Arc::new(Context {
        worker_keys: Some(app.worker_keys.clone()),
        client: client.clone(),
        pods: settings.pods.clone(),
        repos: app.config.repos.iter().map(|r| (r.name.clone(), r.path.clone())).collect::<HashMap<String, PathBuf>>(),
        data_dir: app.data_dir.clone(),
        worker_states: ctx_states,
        recorder: Some(recorder),
        max_sessions: app.config.limits.max_concurrent_sessions as usize,
        follow: Some(Box::new(follow)),
        notes: Some(Box::new({
            let store = app.store.clone();
            move |uid: &SessionId, event: &crate::reconcile::Event| {
                let (store, uid, data) = (store.clone(), uid.clone(), event.data());
                tokio::spawn(async move {
                    let kind = crate::conversation::notes::NOTE_KIND;
                    if let Err(err) = store.append_event(&uid, Utc::now(), kind, &data).await {
                        tracing::warn!(%err, "keeping a session event");
                    }
                });
            }
        })),
        failures: Mutex::default(),
        terminal_size: Some(Box::new({
            let streams = app.streams.clone();
            move |uid: &SessionId| streams.size(uid)
        })),
    });
    let triggers = tokio_stream::wrappers::UnboundedReceiverStream::new(trigger_rx);
    Controller::new(sessions, watcher::Config::default())
        .owns(pods, watcher::Config::default().labels("app.kubernetes.io/component=worker"))
        .reconcile_all_on(triggers)
        .shutdown_on_signal()
        .run(reconcile_session, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "reconcile");
            }
        })
        .await;
    Ok(())
}
