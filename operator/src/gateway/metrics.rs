//! `GET /metrics`: what it says, encoded by `prometheus-client` (OpenMetrics text, which Prometheus
//! scrapes): computed from the store at each scrape, so a fresh registry renders it.

use std::sync::Arc;

use axum::extract::State;
use chrono::{DateTime, Utc};
use cockpit_api::SessionPhase;
use cockpit_api::api::AccountView;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::error::Failure;
use crate::app::App;
use crate::store::SessionRow;

/// The response's content type.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /metrics`: OpenMetrics text (Prometheus reads it): sessions by phase, accounts, limited
/// accounts, each account's usage as its CLI last reported it, rotations.
pub async fn metrics(State(app): State<Arc<App>>) -> Result<axum::response::Response, Failure> {
    use axum::response::IntoResponse;
    let sessions = app.store.list_sessions(false).await?;
    let accounts = app.account_views().await?;
    let text = render(&sessions, &accounts, Utc::now())
        .map_err(|e| Failure::internal(format!("encoding the metrics: {e}")))?;
    Ok(([(axum::http::header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WindowLabels {
    account: String,
    window: String,
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The metrics of `sessions` (not deleted) and `accounts` at `now`.
pub fn render(
    sessions: &[SessionRow],
    accounts: &[AccountView],
    now: DateTime<Utc>,
) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();

    let by_phase = Family::<PhaseLabels, Gauge>::default();
    registry.register("cockpit_sessions", "Sessions that are not deleted, by phase", by_phase.clone());
    for phase in SessionPhase::ALL {
        let n = sessions.iter().filter(|s| s.status.phase == phase).count();
        by_phase.get_or_create(&PhaseLabels { phase: format!("{phase:?}") }).set(count(n));
    }

    let configured = Gauge::<i64>::default();
    registry.register("cockpit_accounts", "Configured accounts", configured.clone());
    configured.set(count(accounts.len()));

    let limited = Gauge::<i64>::default();
    registry.register("cockpit_accounts_rate_limited", "Accounts whose usage limit is in force", limited.clone());
    limited.set(count(accounts.iter().filter(|a| a.limited_until.is_some()).count()));

    let utilization = Family::<WindowLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    registry.register(
        "cockpit_account_utilization_percent",
        "Share of an account's usage window used, as its CLI last reported it",
        utilization.clone(),
    );
    for account in accounts {
        let Some(figures) = account.utilization else { continue };
        for (window, figure) in [("five_hour", figures.five_hour), ("seven_day", figures.seven_day)] {
            if let Some(used) = figure.and_then(|w| w.used_at(now)) {
                utilization
                    .get_or_create(&WindowLabels { account: account.id.clone(), window: window.into() })
                    .set(used);
            }
        }
    }

    let rotations = Counter::<u64>::default();
    registry.register("cockpit_rotations", "Moves of a session to another account", rotations.clone());
    rotations.inc_by(sessions.iter().map(|s| u64::from(s.status.rotations)).sum());

    let mut out = String::new();
    encode(&mut out, &registry)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(json: serde_json::Value) -> AccountView {
        serde_json::from_value(json).expect("an account view")
    }

    #[test]
    fn sessions_accounts_usage_and_rotations_are_rendered_as_openmetrics() {
        let now: DateTime<Utc> = "2026-12-03T12:00:00Z".parse().expect("time");
        let usage = serde_json::json!({"inputTokens": 0, "outputTokens": 0, "costUsd": 0.0, "sessions": 0});
        let accounts = [
            account(serde_json::json!({
                "id": "alpha", "priority": 1, "kind": "OAuthToken", "active_sessions": 0,
                "limited_until": "2026-12-03T15:00:00Z", "usage": usage,
                "utilization": {
                    "fiveHour": {"usedPercent": 93.0, "resetsAt": "2026-12-03T15:00:00Z"},
                    "sevenDay": {"usedPercent": 40.0, "resetsAt": "2026-12-01T00:00:00Z"},
                    "observedAt": "2026-12-03T11:59:00Z"
                }
            })),
            account(
                serde_json::json!({"id": "beta", "priority": 0, "kind": "ApiKey", "active_sessions": 0, "usage": usage}),
            ),
        ];
        let text = render(&[], &accounts, now).expect("encodes");
        for line in [
            "# TYPE cockpit_sessions gauge",
            "cockpit_sessions{phase=\"Pending\"} 0",
            "cockpit_sessions{phase=\"Stopped\"} 0",
            "cockpit_accounts 2",
            "cockpit_accounts_rate_limited 1",
            "cockpit_account_utilization_percent{account=\"alpha\",window=\"five_hour\"} 93.0",
            "# TYPE cockpit_rotations counter",
            "cockpit_rotations_total 0",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} in\n{text}");
        }
        assert!(!text.contains("seven_day"), "a window that has reset is stale:\n{text}");
        assert_eq!(text.matches("cockpit_sessions{").count(), SessionPhase::ALL.len(), "{text}");
    }
}
