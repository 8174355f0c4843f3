//! The CLI's status line as a source of usage: the worker installs itself as the `statusLine`
//! command (`post-hook --event StatusLine`), so the JSON the CLI pipes to that command on every
//! refresh — the account's `rate_limits`, the session's `cost` and `context_window` — reaches
//! the worker like a hook post. Pure: the CLI's JSON in, a [`StatusReport`] and the line to
//! show out.

use chrono::{DateTime, TimeZone, Utc};
use cockpit_api::{PlanUtilization, SessionCost, StatusReport, UsageWindow};
use serde::Deserialize;
use serde_json::Value;

/// The parts of the status line's input the worker reads. Every field is optional: the JSON
/// grows with the CLI and some parts exist only for subscription accounts.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct StatusInput {
    /// `rate_limits.five_hour` / `.seven_day`: `used_percentage`, `resets_at` (epoch seconds).
    #[serde(default)]
    pub rate_limits: Option<Value>,
    /// `cost.total_cost_usd`, …
    #[serde(default)]
    pub cost: Option<Value>,
    /// `context_window.total_input_tokens`, `total_output_tokens`, `used_percentage`, …
    #[serde(default)]
    pub context_window: Option<Value>,
    /// `model.display_name`, …
    #[serde(default)]
    pub model: Option<Value>,
}

fn window(value: Option<&Value>) -> Option<UsageWindow> {
    let value = value?;
    let used = value.get("used_percentage")?.as_f64()?;
    if !used.is_finite() {
        return None;
    }
    let resets_at = value
        .get("resets_at")
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s > 0.0)
        .and_then(|s| Utc.timestamp_opt(s as i64, 0).single());
    Some(UsageWindow { used_percent: used.clamp(0.0, 100.0), resets_at })
}

fn count(value: Option<&Value>) -> Option<u64> {
    value.and_then(|v| v.as_u64().or_else(|| v.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64)))
}

impl StatusInput {
    /// What this input reports, observed at `now`.
    pub fn report(&self, now: DateTime<Utc>) -> StatusReport {
        let limits = self.rate_limits.as_ref();
        let five_hour = window(limits.and_then(|l| l.get("five_hour")));
        let seven_day = window(limits.and_then(|l| l.get("seven_day")));
        let plan = (five_hour.is_some() || seven_day.is_some()).then_some(PlanUtilization {
            five_hour,
            seven_day,
            observed_at: now,
        });
        let context = self.context_window.as_ref();
        let cost_usd = self
            .cost
            .as_ref()
            .and_then(|c| c.get("total_cost_usd"))
            .and_then(Value::as_f64)
            .filter(|c| c.is_finite() && *c >= 0.0);
        let input_tokens = count(context.and_then(|c| c.get("total_input_tokens")));
        let output_tokens = count(context.and_then(|c| c.get("total_output_tokens")));
        let cost = (cost_usd.is_some() || input_tokens.is_some() || output_tokens.is_some()).then(|| SessionCost {
            cost_usd: cost_usd.unwrap_or(0.0),
            input_tokens: input_tokens.unwrap_or(0),
            output_tokens: output_tokens.unwrap_or(0),
        });
        let context_percent = context
            .and_then(|c| c.get("used_percentage"))
            .and_then(Value::as_f64)
            .filter(|p| p.is_finite())
            .map(|p| p.clamp(0.0, 100.0));
        let model = self
            .model
            .as_ref()
            .and_then(|m| m.get("display_name").or_else(|| m.get("id")))
            .and_then(Value::as_str)
            .map(|m| m.chars().take(64).collect());
        StatusReport { plan, cost, context_percent, model }
    }
}

/// The line the CLI shows under its prompt: the usage Cockpit knows, in few characters.
pub fn line(report: &StatusReport) -> String {
    let mut parts = Vec::new();
    if let Some(plan) = &report.plan {
        if let Some(w) = plan.five_hour {
            parts.push(format!("5h {:.0}%", w.used_percent));
        }
        if let Some(w) = plan.seven_day {
            parts.push(format!("7d {:.0}%", w.used_percent));
        }
    }
    if let Some(p) = report.context_percent {
        parts.push(format!("ctx {p:.0}%"));
    }
    if let Some(cost) = report.cost {
        parts.push(format!("${:.2}", cost.cost_usd));
    }
    if parts.is_empty() { "Claude Cockpit".to_owned() } else { format!("Claude Cockpit · {}", parts.join(" · ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).single().expect("valid")
    }

    #[test]
    fn reads_what_the_cli_pipes_to_its_status_line() {
        let json = r#"{"session_id":"x","model":{"id":"claude-opus-4-7","display_name":"Opus 4.7"},
            "cost":{"total_cost_usd":0.0421,"total_duration_ms":900,"total_lines_added":3},
            "context_window":{"total_input_tokens":1200,"total_output_tokens":85,"context_window_size":200000,"used_percentage":4.5},
            "rate_limits":{"five_hour":{"used_percentage":93,"resets_at":1796212800},"seven_day":{"used_percentage":41.5}},
            "something_new":{"a":1}}"#;
        let input: StatusInput = serde_json::from_str(json).expect("parses");
        let report = input.report(now());
        let plan = report.plan.expect("plan");
        assert_eq!(plan.five_hour.map(|w| w.used_percent), Some(93.0));
        assert_eq!(plan.five_hour.and_then(|w| w.resets_at).map(|t| t.timestamp()), Some(1_796_212_800));
        assert_eq!(plan.seven_day, Some(UsageWindow { used_percent: 41.5, resets_at: None }));
        assert_eq!(plan.observed_at, now());
        assert_eq!(report.cost, Some(SessionCost { cost_usd: 0.0421, input_tokens: 1200, output_tokens: 85 }));
        assert_eq!(report.context_percent, Some(4.5));
        assert_eq!(report.model.as_deref(), Some("Opus 4.7"));
        assert_eq!(line(&report), "Claude Cockpit · 5h 93% · 7d 42% · ctx 4% · $0.04");
    }

    #[test]
    fn an_api_key_session_has_no_windows_and_odd_values_are_not_believed() {
        let input: StatusInput =
            serde_json::from_str(r#"{"cost":{"total_cost_usd":-3},"rate_limits":{"five_hour":{"used_percentage":"lots"}},"context_window":{"used_percentage":250}}"#)
                .expect("parses");
        let report = input.report(now());
        assert_eq!(report.plan, None);
        assert_eq!(report.cost, None, "a negative cost is no cost");
        assert_eq!(report.context_percent, Some(100.0));
        let empty: StatusInput = serde_json::from_str("{}").expect("parses");
        assert_eq!(empty.report(now()), StatusReport::default());
        assert_eq!(line(&StatusReport::default()), "Claude Cockpit");
    }
}
