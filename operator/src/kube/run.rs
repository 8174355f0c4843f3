//! `cockpit serve --runtime kube`: the session controller, the watch that mirrors sessions into
//! the database (the gateway's cache; the history outlives deleted sessions), the account
//! housekeeping, and the streams that follow each running worker Pod.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use cockpit_crds::{ClaudeAccount, ClaudeSession};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Client, ResourceExt};

use super::controller::{Context, error_policy, reconcile_session};
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
    let id = session.uid()?;
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

/// Mirrors one session object into the database.
async fn mirror(app: &App, session: &ClaudeSession) -> anyhow::Result<()> {
    let Some(row) = row_of(session) else { return Ok(()) };
    match app.store.get_session(&row.id).await? {
        Some(existing) => {
            if existing.status != row.status {
                app.store.update_status(&row.id, &row.status, Utc::now()).await?;
            }
        }
        None => {
            // A new object may reuse the name of a deleted one.
            if let Some(old) = app.store.get_session_by_name(&row.name).await? {
                app.store.mark_deleted(&old.id, Utc::now()).await?;
            }
            app.store.insert_session(&row).await?;
        }
    }
    if let Some(updated) = app.store.get_session(&row.id).await? {
        app.announce_session(&updated);
    }
    Ok(())
}

/// Runs everything until the process ends.
pub async fn run(app: Arc<App>, client: Client, settings: KubeSettings) -> anyhow::Result<()> {
    let ns = settings.namespace.clone();
    let sessions: Api<ClaudeSession> = Api::namespaced(client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let accounts: Api<ClaudeAccount> = Api::namespaced(client.clone(), &ns);

    // The mirror: every session object into the database.
    let mirror_app = app.clone();
    let mirror_api = sessions.clone();
    tokio::spawn(async move {
        let stream = watcher(mirror_api, watcher::Config::default()).default_backoff();
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(watcher::Event::Apply(s) | watcher::Event::InitApply(s)) => {
                    if let Err(err) = mirror(&mirror_app, &s).await {
                        tracing::warn!("mirroring {}: {err:#}", s.name_any());
                    }
                }
                Ok(watcher::Event::Delete(s)) => {
                    if let Some(id) = s.uid() {
                        let _ = mirror_app.store.mark_deleted(&id, Utc::now()).await;
                        let _ = mirror_app.changes.send(cockpit_crds::api::ChangeEvent::SessionDeleted { id });
                    }
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "session watch"),
            }
        }
    });

    // Accounts whose reset passed become eligible again by themselves.
    let housekeeping = accounts.clone();
    tokio::spawn(async move {
        loop {
            if let Ok(list) = housekeeping.list(&Default::default()).await {
                for account in list.items {
                    let expired =
                        account.status.as_ref().and_then(|s| s.rate_limited_until).is_some_and(|t| t <= Utc::now());
                    if expired {
                        let patch =
                            serde_json::json!({ "status": { "rateLimitedUntil": null, "rateLimitWindow": null } });
                        let _ = housekeeping
                            .patch_status(&account.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
                            .await;
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(15)).await;
        }
    });

    // Followers: one upstream stream per running worker Pod.
    let (trigger_tx, trigger_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let followed: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let ctx_states: Arc<Mutex<HashMap<String, cockpit_crds::WorkerState>>> = Arc::default();
    let follow_app = app.clone();
    let follow_states = ctx_states.clone();
    let follow = {
        let followed = followed.clone();
        move |uid: &str, name: &str, pod: &str, endpoint: &str| {
            let mut map = followed.lock().unwrap_or_else(|p| p.into_inner());
            if map.get(name).map(String::as_str) == Some(pod) {
                return;
            }
            map.insert(name.to_owned(), pod.to_owned());
            drop(map);
            let (app, uid, name, pod, endpoint) =
                (follow_app.clone(), uid.to_owned(), name.to_owned(), pod.to_owned(), endpoint.to_owned());
            let followed = followed.clone();
            let states: Arc<Mutex<HashMap<String, cockpit_crds::WorkerState>>> = follow_states.clone();
            let trigger = trigger_tx.clone();
            tokio::spawn(async move {
                let stream = match app.runtime.stream(&uid).await {
                    Ok(stream) => stream,
                    Err(err) => {
                        tracing::warn!("opening the stream of {name}: {err:#}");
                        return;
                    }
                };
                let (generation, base) = stream.begin_worker(None);
                let alive_name = name.clone();
                let alive_pod = pod.clone();
                let alive_map = followed.clone();
                stream
                    .follow(
                        endpoint,
                        generation,
                        base,
                        move || {
                            alive_map.lock().unwrap_or_else(|p| p.into_inner()).get(&alive_name) == Some(&alive_pod)
                        },
                        move |state| {
                            states.lock().unwrap_or_else(|p| p.into_inner()).insert(name.clone(), state);
                            let _ = trigger.send(());
                        },
                    )
                    .await;
            });
        }
    };

    let ctx = Arc::new(Context {
        client: client.clone(),
        pods: settings.pods.clone(),
        repos: app.config.repos.iter().map(|r| (r.name.clone(), r.path.clone())).collect::<HashMap<String, PathBuf>>(),
        data_dir: app.data_dir.clone(),
        worker_states: ctx_states,
        recorder: Some(Recorder::new(
            client.clone(),
            Reporter { controller: "cockpit".into(), instance: std::env::var("HOSTNAME").ok() },
        )),
        max_sessions: app.config.limits.max_concurrent_sessions as usize,
        follow: Some(Box::new(follow)),
    });
    let triggers = futures_util::stream::unfold(trigger_rx, |mut rx| async move { rx.recv().await.map(|()| ((), rx)) });
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
