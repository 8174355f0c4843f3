//! The standard Kubernetes status condition, as used by both custom resources.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A standard Kubernetes condition (`metav1.Condition`): one aspect of the object's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The aspect this condition describes, e.g. `Ready`, `AccountAssigned`, `RateLimited`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase machine-readable reason for the last transition.
    pub reason: String,
    /// A human-readable message about the last transition.
    #[serde(default)]
    pub message: String,
    /// When the status last changed.
    #[ts(type = "string")]
    pub last_transition_time: DateTime<Utc>,
    /// The `metadata.generation` the condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub observed_generation: Option<i64>,
}
