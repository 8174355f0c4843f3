//! Usage as the Claude Code CLI reports it through its status line: how much of an account's
//! 5-hour and weekly windows is used, and what an interactive session has cost so far.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One usage window of a Claude subscription (the 5-hour or the weekly one).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct UsageWindow {
    /// How much of the window is used, in percent (0–100).
    #[schemars(range(min = 0.0, max = 100.0))]
    pub used_percent: f64,
    /// When the window resets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "string")]
    pub resets_at: Option<DateTime<Utc>>,
}

impl UsageWindow {
    /// The share used at `now`: none once the window has reset (the figure is stale then).
    pub fn used_at(&self, now: DateTime<Utc>) -> Option<f64> {
        match self.resets_at {
            Some(reset) if reset <= now => None,
            _ => Some(self.used_percent),
        }
    }
}

/// An account's utilization of its subscription windows, as last reported by a session's CLI
/// (present for Claude subscription tokens after the first answer; each window may be absent).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct PlanUtilization {
    /// The 5-hour window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub five_hour: Option<UsageWindow>,
    /// The weekly (7-day) window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seven_day: Option<UsageWindow>,
    /// When a CLI reported these figures.
    #[ts(type = "string")]
    pub observed_at: DateTime<Utc>,
}

impl PlanUtilization {
    /// The highest share in force at `now` across the windows, with the window's name
    /// (`5-hour` or `weekly`); none when no window holds a current figure.
    pub fn highest_at(&self, now: DateTime<Utc>) -> Option<(f64, &'static str)> {
        let five = self.five_hour.and_then(|w| w.used_at(now)).map(|p| (p, "5-hour"));
        let seven = self.seven_day.and_then(|w| w.used_at(now)).map(|p| (p, "weekly"));
        match (five, seven) {
            (Some(a), Some(b)) => Some(if b.0 > a.0 { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// True when both report the same windows (the observation time aside).
    pub fn same_windows(&self, other: &PlanUtilization) -> bool {
        self.five_hour == other.five_hour && self.seven_day == other.seven_day
    }
}

/// What an interactive session's CLI reports of its own use (the status line's `cost` and
/// `context_window`): totals of the running CLI process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionCost {
    /// Cost in US dollars, as the CLI estimates it.
    pub cost_usd: f64,
    /// Input tokens.
    #[ts(type = "number")]
    pub input_tokens: u64,
    /// Output tokens.
    #[ts(type = "number")]
    pub output_tokens: u64,
}

impl SessionCost {
    /// The sum of two totals.
    pub fn plus(self, other: SessionCost) -> SessionCost {
        SessionCost {
            cost_usd: self.cost_usd + other.cost_usd,
            input_tokens: self.input_tokens.saturating_add(other.input_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
        }
    }
}

/// Everything the status line reported last.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct StatusReport {
    /// The account's windows, when the CLI knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanUtilization>,
    /// The session's cost and tokens so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<SessionCost>,
    /// How full the context window is, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_percent: Option<f64>,
    /// The model's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// A tool call the CLI refused by itself (auto mode's classifier, a deny rule): the
/// `PermissionDenied` hook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct Denial {
    /// The tool.
    pub tool: String,
    /// Why, as the CLI said.
    pub reason: String,
    /// When.
    #[ts(type = "string")]
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, h, 0, 0).single().expect("valid")
    }

    #[test]
    fn the_highest_window_in_force_counts_and_a_reset_window_is_stale() {
        let plan = PlanUtilization {
            five_hour: Some(UsageWindow { used_percent: 85.0, resets_at: Some(t(12)) }),
            seven_day: Some(UsageWindow { used_percent: 40.0, resets_at: Some(t(20)) }),
            observed_at: t(10),
        };
        assert_eq!(plan.highest_at(t(11)), Some((85.0, "5-hour")));
        assert_eq!(plan.highest_at(t(13)), Some((40.0, "weekly")), "the 5-hour window has reset");
        assert_eq!(plan.highest_at(t(21)), None);
        let unknown_reset = PlanUtilization {
            five_hour: None,
            seven_day: Some(UsageWindow { used_percent: 97.5, resets_at: None }),
            observed_at: t(10),
        };
        assert_eq!(unknown_reset.highest_at(t(23)), Some((97.5, "weekly")));
    }

    #[test]
    fn costs_add_up_without_overflow() {
        let a = SessionCost { cost_usd: 0.5, input_tokens: u64::MAX, output_tokens: 2 };
        let b = SessionCost { cost_usd: 0.25, input_tokens: 1, output_tokens: 3 };
        assert_eq!(a.plus(b), SessionCost { cost_usd: 0.75, input_tokens: u64::MAX, output_tokens: 5 });
    }
}
