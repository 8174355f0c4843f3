//! Kubernetes Events for the controllers' transitions.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder};

/// Records one Event on `regarding` (its note cut to the API's 1 KiB). Failing to record one is
/// logged at debug level and otherwise ignored: Events are informational.
pub async fn publish(recorder: &Recorder, regarding: &ObjectReference, reason: &str, message: &str, warning: bool) {
    let event = Event {
        type_: if warning { EventType::Warning } else { EventType::Normal },
        reason: reason.to_owned(),
        note: Some(message.chars().take(1000).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(err) = recorder.publish(&event, regarding).await {
        tracing::debug!(%err, "recording an event");
    }
}
