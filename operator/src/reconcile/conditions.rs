//! Standard status conditions: set one, keeping `lastTransitionTime` when nothing changed.

use chrono::{DateTime, Utc};
use cockpit_api::Condition;

/// Condition type: the session's worker runs and reports.
pub const READY: &str = "Ready";
/// Condition type: an account is assigned.
pub const ACCOUNT_ASSIGNED: &str = "AccountAssigned";
/// Condition type: the session waits for a usage-limit reset.
pub const RATE_LIMITED: &str = "RateLimited";

/// Sets condition `type_` to `status` ("True"/"False"), keeping the transition time when the
/// status did not change.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: DateTime<Utc>,
) {
    let status = if status { "True" } else { "False" };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            if existing.status != status {
                existing.last_transition_time = now;
            }
            existing.status = status.to_owned();
            existing.reason = reason.to_owned();
            existing.message = message.to_owned();
            existing.observed_generation = generation;
        }
        None => conditions.push(Condition {
            type_: type_.to_owned(),
            status: status.to_owned(),
            reason: reason.to_owned(),
            message: message.to_owned(),
            last_transition_time: now,
            observed_generation: generation,
        }),
    }
}

/// The status of condition `type_`, if set.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions.iter().any(|c| c.type_ == type_ && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn transition_time_moves_only_on_change() {
        let t0 = Utc.timestamp_opt(1000, 0).single().expect("t");
        let t1 = Utc.timestamp_opt(2000, 0).single().expect("t");
        let mut c = Vec::new();
        set(&mut c, READY, true, "Running", "", Some(1), t0);
        set(&mut c, READY, true, "Running", "still", Some(2), t1);
        assert_eq!(
            (c[0].last_transition_time, c[0].message.as_str(), c[0].observed_generation),
            (t0, "still", Some(2))
        );
        set(&mut c, READY, false, "Exited", "", Some(2), t1);
        assert_eq!(c[0].last_transition_time, t1);
        assert!(!is_true(&c, READY));
        assert_eq!(c.len(), 1);
    }
}
