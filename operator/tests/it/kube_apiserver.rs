//! The API server stand-in (`support/apiserver.rs`) behaves as the operator's end-to-end tests
//! rely on, checked with the real kube client and kube-runtime's watcher: watches resume from a
//! resourceVersion across server-side timeouts without losing or repeating a change, selectors
//! see objects enter and leave, finalizers hold a deletion, owners take their dependents along,
//! stale writes conflict, the status subresource is separate, and server-side apply removes what
//! a manager stopped applying.

use crate::support::apiserver;

use std::time::Duration;

use apiserver::ApiServer;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

const NS: &str = "ns";

fn config_map(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}))
    .expect("config map")
}

#[tokio::test]
async fn a_watcher_sees_every_change_once_across_watch_timeouts() {
    let api = ApiServer::start().await;
    let maps: Api<ConfigMap> = Api::namespaced(api.client(NS), NS);
    maps.create(&PostParams::default(), &config_map("before", json!({}))).await.expect("create");
    // Server-side timeouts of one second: the watcher reconnects from its last resourceVersion.
    let stream = watcher(maps.clone(), watcher::Config::default().timeout(1)).applied_objects();
    let mut stream = std::pin::pin!(stream);
    let first = tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("in time");
    assert_eq!(first.expect("an event").expect("ok").metadata.name.as_deref(), Some("before"));
    let mut seen = Vec::new();
    for i in 0..3 {
        // Let a watch time out between changes.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        maps.create(&PostParams::default(), &config_map(&format!("m{i}"), json!({}))).await.expect("create");
        let next = tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("in time");
        seen.push(next.expect("an event").expect("ok").metadata.name.unwrap_or_default());
    }
    assert_eq!(seen, ["m0", "m1", "m2"], "each change once, in order");
    let watches = api
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/namespaces/ns/configmaps?") && r.contains("watch=true"))
        .count();
    assert!(watches >= 3, "the watch was resumed after each timeout ({watches} watches)");
    let lists = api
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/namespaces/ns/configmaps?") && !r.contains("watch=true"))
        .count();
    assert_eq!(lists, 1, "resumed from the resourceVersion, not listed again");
}

#[tokio::test]
async fn a_selector_watch_sees_objects_enter_and_leave() {
    let api = ApiServer::start().await;
    let maps: Api<ConfigMap> = Api::namespaced(api.client(NS), NS);
    let stream = watcher(maps.clone(), watcher::Config::default().labels("app=worker"));
    let mut stream = std::pin::pin!(stream);
    // The initial list (empty).
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("in time");
        if matches!(event, Some(Ok(watcher::Event::InitDone))) {
            break;
        }
    }
    maps.create(&PostParams::default(), &config_map("a", json!({"app": "other"}))).await.expect("create");
    let relabel = json!({"metadata": {"labels": {"app": "worker"}}});
    maps.patch("a", &PatchParams::default(), &Patch::Merge(&relabel)).await.expect("enters");
    let unlabel = json!({"metadata": {"labels": {"app": null}}});
    maps.patch("a", &PatchParams::default(), &Patch::Merge(&unlabel)).await.expect("leaves");
    let mut events = Vec::new();
    while events.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("in time");
        match event.expect("an event").expect("ok") {
            watcher::Event::Apply(m) => events.push(format!("apply {}", m.metadata.name.unwrap_or_default())),
            watcher::Event::Delete(m) => events.push(format!("delete {}", m.metadata.name.unwrap_or_default())),
            _ => {}
        }
    }
    assert_eq!(events, ["apply a", "delete a"]);
}

#[tokio::test]
async fn finalizers_hold_a_deletion_and_owners_take_their_dependents() {
    let api = ApiServer::start().await;
    let maps: Api<ConfigMap> = Api::namespaced(api.client(NS), NS);
    let mut owner = config_map("owner", json!({}));
    owner.metadata.finalizers = Some(vec!["test/hold".into()]);
    let owner = maps.create(&PostParams::default(), &owner).await.expect("owner");
    let mut dependent = config_map("dependent", json!({}));
    dependent.metadata.owner_references = Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "owner".into(),
        uid: owner.metadata.uid.clone().expect("uid"),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }]);
    maps.create(&PostParams::default(), &dependent).await.expect("dependent");

    maps.delete("owner", &DeleteParams::default()).await.expect("delete");
    let held = maps.get("owner").await.expect("still there");
    assert!(held.metadata.deletion_timestamp.is_some(), "marked for deletion");
    assert!(maps.get("dependent").await.is_ok(), "the dependent stays while the owner does");

    // A JSON patch whose test fails changes nothing.
    let wrong = json!([{"op": "test", "path": "/metadata/finalizers/0", "value": "other"},
                       {"op": "remove", "path": "/metadata/finalizers/0"}]);
    let err = maps
        .patch("owner", &PatchParams::default(), &Patch::Json::<()>(serde_json::from_value(wrong).expect("patch")))
        .await
        .expect_err("the test fails");
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 422), "{err}");
    let right = json!([{"op": "test", "path": "/metadata/finalizers/0", "value": "test/hold"},
                       {"op": "remove", "path": "/metadata/finalizers/0"}]);
    maps.patch("owner", &PatchParams::default(), &Patch::Json::<()>(serde_json::from_value(right).expect("patch")))
        .await
        .expect("finalizer removed");
    assert!(matches!(maps.get("owner").await, Err(kube::Error::Api(s)) if s.code == 404), "gone");
    assert!(matches!(maps.get("dependent").await, Err(kube::Error::Api(s)) if s.code == 404), "collected");
}

#[tokio::test]
async fn stale_writes_conflict_status_is_separate_and_apply_removes_what_is_no_longer_applied() {
    let api = ApiServer::start().await;
    let client = api.client(NS);
    let accounts: Api<cockpit_api::ClaudeAccount> = Api::namespaced(client, NS);
    let manifest = json!({"apiVersion": "cockpit.dev/v1alpha1", "kind": "ClaudeAccount",
        "metadata": {"name": "a", "labels": {"x": "1", "y": "2"}},
        "spec": {"credentials": {"secretName": "s"}, "priority": 1, "displayName": "me"}});
    let created = accounts.patch("a", &PatchParams::apply("kubectl"), &Patch::Apply(&manifest)).await.expect("apply");
    assert_eq!(created.metadata.generation, Some(1));

    // The status subresource changes only the status; the object never changes it.
    let status = json!({"status": {"activeSessions": 3}, "spec": {"priority": 99}});
    let after = accounts.patch_status("a", &PatchParams::default(), &Patch::Merge(&status)).await.expect("status");
    assert_eq!((after.spec.priority, after.status.as_ref().map(|s| s.active_sessions)), (1, Some(3)));
    assert_eq!(after.metadata.generation, Some(1), "a status write is no new generation");
    let main = json!({"status": {"activeSessions": 9}});
    let after = accounts.patch("a", &PatchParams::default(), &Patch::Merge(&main)).await.expect("main");
    assert_eq!(after.status.as_ref().map(|s| s.active_sessions), Some(3));

    // A write guarded by an old resourceVersion conflicts.
    let stale =
        json!({"metadata": {"resourceVersion": created.metadata.resource_version}, "status": {"activeSessions": 0}});
    let err = accounts.patch_status("a", &PatchParams::default(), &Patch::Merge(&stale)).await.expect_err("conflict");
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 409), "{err}");

    // Applying without displayName and label y removes them; the spec change is a new generation.
    let manifest = json!({"apiVersion": "cockpit.dev/v1alpha1", "kind": "ClaudeAccount",
        "metadata": {"name": "a", "labels": {"x": "1"}},
        "spec": {"credentials": {"secretName": "s"}, "priority": 2}});
    let applied = accounts.patch("a", &PatchParams::apply("kubectl"), &Patch::Apply(&manifest)).await.expect("apply");
    assert_eq!(applied.spec.display_name, None);
    assert_eq!(applied.spec.priority, 2);
    assert_eq!(applied.metadata.labels.as_ref().map(|l| l.len()), Some(1));
    assert_eq!(applied.metadata.generation, Some(2));
    assert_eq!(applied.status.as_ref().map(|s| s.active_sessions), Some(3), "the status is kept");
}
