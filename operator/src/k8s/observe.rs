//! What the worker Pods of a session say about its worker, as the decisions want it
//! ([`Observed`]). Pure.

use cockpit_api::WorkerState;
use k8s_openapi::api::core::v1::Pod;

use super::pod::ACCOUNT_LABEL;
use crate::reconcile::Observed;

/// Container waiting reasons that will not fix themselves.
const FATAL_WAITING: &[&str] =
    &["ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError", "InvalidImageName", "CreateContainerError"];

/// The session's current worker Pod: the newest one not being deleted.
pub fn current(pods: &[Pod]) -> Option<&Pod> {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .max_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// True for a worker Pod that counts against its account: not being deleted, not ended.
pub fn is_live(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    pod.metadata.deletion_timestamp.is_none() && !matches!(phase, Some("Succeeded") | Some("Failed"))
}

/// Pods of the session that should go (every one but the current).
pub fn stale(pods: &[Pod]) -> Vec<&Pod> {
    let keep = current(pods).and_then(|p| p.metadata.name.clone());
    pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none() && p.metadata.name != keep).collect()
}

/// What is observed of the worker, from its Pod and (when connected) its reported state.
pub fn observe(pod: Option<&Pod>, state: Option<WorkerState>) -> Observed {
    let Some(pod) = pod else { return Observed::NoWorker };
    let account = pod.metadata.labels.as_ref().and_then(|l| l.get(ACCOUNT_LABEL)).cloned().unwrap_or_default();
    let status = pod.status.as_ref();
    let container = status.and_then(|s| s.container_statuses.as_ref()).and_then(|c| c.first());
    if let Some(waiting) = container.and_then(|c| c.state.as_ref()).and_then(|s| s.waiting.as_ref()) {
        let reason = waiting.reason.clone().unwrap_or_default();
        if FATAL_WAITING.contains(&reason.as_str()) {
            let message = waiting.message.clone().unwrap_or_default();
            return Observed::StartFailed {
                account,
                message: format!("{reason}: {message}").trim_end_matches([':', ' ']).to_owned(),
            };
        }
    }
    let terminated = container.and_then(|c| c.state.as_ref()).and_then(|s| s.terminated.as_ref());
    match status.and_then(|s| s.phase.as_deref()) {
        Some("Succeeded") | Some("Failed") => Observed::Exited {
            account,
            code: terminated.map(|t| t.exit_code).or(state.as_ref().and_then(|s| s.exit_code)),
            state,
        },
        _ if terminated.is_some() => Observed::Exited { account, code: terminated.map(|t| t.exit_code), state },
        Some("Running") => match state {
            Some(state) => Observed::Running { account, state },
            None => Observed::Starting { account },
        },
        _ => Observed::Starting { account },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cockpit_api::{Activity, SessionMode};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn pod(name: &str, created: i64, status: serde_json::Value) -> Pod {
        let mut pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {ACCOUNT_LABEL: "alpha"}},
            "status": status,
        }))
        .expect("pod");
        pod.metadata.creation_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::from_second(created).expect("t")));
        pod
    }

    fn state() -> WorkerState {
        WorkerState {
            activity: Activity::Idle,
            ..WorkerState::starting(SessionMode::Interactive, 80, 24, chrono::Utc::now())
        }
    }

    #[test]
    fn pod_phases_map_to_observations() {
        assert_eq!(observe(None, None), Observed::NoWorker);
        let pending = pod("p", 1, serde_json::json!({"phase": "Pending"}));
        assert_eq!(observe(Some(&pending), None), Observed::Starting { account: "alpha".into() });
        let running = pod("p", 1, serde_json::json!({"phase": "Running"}));
        assert_eq!(observe(Some(&running), None), Observed::Starting { account: "alpha".into() }, "not reporting yet");
        assert!(matches!(observe(Some(&running), Some(state())), Observed::Running { .. }));
        let done = pod(
            "p",
            1,
            serde_json::json!({"phase": "Failed", "containerStatuses": [{"name": "worker", "image": "i", "imageID": "", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}]}),
        );
        assert_eq!(
            observe(Some(&done), None),
            Observed::Exited { account: "alpha".into(), code: Some(137), state: None }
        );
    }

    #[test]
    fn a_missing_secret_or_image_is_a_failed_start() {
        let bad = pod(
            "p",
            1,
            serde_json::json!({"phase": "Pending", "containerStatuses": [{"name": "worker", "image": "i", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "secret \"claude-x\" not found"}}}]}),
        );
        match observe(Some(&bad), None) {
            Observed::StartFailed { message, .. } => {
                assert!(message.contains("secret \"claude-x\" not found"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_newest_live_pod_is_current_and_the_rest_are_stale() {
        let mut deleting = pod("c", 9, serde_json::json!({}));
        deleting.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::now()));
        let pods = vec![pod("a", 1, serde_json::json!({})), pod("b", 5, serde_json::json!({})), deleting];
        assert_eq!(current(&pods).and_then(|p| p.metadata.name.as_deref()), Some("b"));
        let stale: Vec<_> = stale(&pods).into_iter().filter_map(|p| p.metadata.name.as_deref()).collect();
        assert_eq!(stale, ["a"]);
        let live: Vec<_> = pods.iter().filter(|p| is_live(p)).filter_map(|p| p.metadata.name.as_deref()).collect();
        assert_eq!(live, ["a", "b"]);
        assert!(!is_live(&pod("d", 1, serde_json::json!({"phase": "Succeeded"}))));
        assert!(is_live(&pod("r", 1, serde_json::json!({"phase": "Running"}))));
    }
}
