//! The `accounts` table: the Claude accounts sessions run under, their limits and usage.

use chrono::{DateTime, Utc};
use cockpit_api::{AccountUsage, PlanUtilization, RateLimitWindow};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::codec::{ms, opt_ms, opt_time, time, to_i64, to_u64};
use super::error::changed;
use super::{Store, StoreError};

/// One account as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountRow {
    /// The account's name (the `ClaudeAccount`'s name).
    pub name: String,
    /// Higher priority accounts are chosen first.
    pub priority: i32,
    /// At most this many sessions at once; `None`: no limit.
    pub max_sessions: Option<u32>,
    /// Not to be chosen before this time (a usage limit was hit); `None`: not limited.
    pub limited_until: Option<DateTime<Utc>>,
    /// The window of the last usage limit hit.
    pub limit_window: Option<RateLimitWindow>,
    /// Usage accumulated so far.
    pub usage: AccountUsage,
    /// The 5-hour and weekly utilization a session's CLI last reported.
    pub utilization: Option<PlanUtilization>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

/// `SELECT` of every account column, followed by `$tail`.
macro_rules! select_accounts {
    ($tail:literal) => {
        concat!(
            "SELECT name, priority, max_sessions, limited_until, limit_window, sessions, input_tokens, \
             output_tokens, cost_usd, utilization, updated_at FROM accounts ",
            $tail
        )
    };
}

impl AccountRow {
    /// Decodes a row selected with `select_accounts!`.
    fn from_row(row: &AnyRow) -> Result<AccountRow, StoreError> {
        let name: String = row.try_get("name")?;
        let what = |col: &str| format!("accounts.{col} of {name:?}");
        let priority: i64 = row.try_get("priority")?;
        let max_sessions: Option<i64> = row.try_get("max_sessions")?;
        let limit_window: Option<String> = row.try_get("limit_window")?;
        let utilization: Option<String> = row.try_get("utilization")?;
        Ok(AccountRow {
            utilization: utilization
                .map(|u| {
                    serde_json::from_str(&u)
                        .map_err(|e| StoreError::Corrupt { what: format!("{}: {e}", what("utilization")) })
                })
                .transpose()?,
            priority: i32::try_from(priority)
                .map_err(|_| StoreError::Corrupt { what: format!("{}: {priority}", what("priority")) })?,
            max_sessions: max_sessions
                .map(|m| {
                    u32::try_from(m).map_err(|_| StoreError::Corrupt { what: format!("{}: {m}", what("max_sessions")) })
                })
                .transpose()?,
            limited_until: opt_time(row.try_get("limited_until")?, &what("limited_until"))?,
            limit_window: limit_window.map(|w| window_from_text(&w, &what("limit_window"))).transpose()?,
            usage: AccountUsage {
                sessions: to_u64(row.try_get("sessions")?, &what("sessions"))?,
                input_tokens: to_u64(row.try_get("input_tokens")?, &what("input_tokens"))?,
                output_tokens: to_u64(row.try_get("output_tokens")?, &what("output_tokens"))?,
                cost_usd: row.try_get("cost_usd")?,
            },
            updated_at: time(row.try_get("updated_at")?, &what("updated_at"))?,
            name,
        })
    }
}

/// The stored text of a window: its serde name (`session`, `weekly`, …).
fn window_to_text(window: RateLimitWindow) -> Result<String, StoreError> {
    match serde_json::to_value(window) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(StoreError::Invalid { what: format!("rate limit window {window:?} has no name") }),
    }
}

/// A window back from its stored text.
fn window_from_text(text: &str, what: &str) -> Result<RateLimitWindow, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| StoreError::Corrupt { what: format!("{what}: {e}") })
}

impl Store {
    /// Creates an account or updates its priority and session limit, keeping its usage and its
    /// rate limit.
    pub async fn upsert_account(&self, name: &str, priority: i32, max_sessions: Option<u32>) -> Result<(), StoreError> {
        self.written(async {
            sqlx::query(
                "INSERT INTO accounts (name, priority, max_sessions, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET priority = excluded.priority, \
             max_sessions = excluded.max_sessions, updated_at = excluded.updated_at",
            )
            .bind(name)
            .bind(i64::from(priority))
            .bind(max_sessions.map(i64::from))
            .bind(ms(Utc::now()))
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// Every account, highest priority first (then by name).
    pub async fn list_accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let rows = sqlx::query(select_accounts!("ORDER BY priority DESC, name")).fetch_all(&self.pool).await?;
        rows.iter().map(AccountRow::from_row).collect()
    }

    /// The account with this name, if any.
    pub async fn get_account(&self, name: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query(select_accounts!("WHERE name = $1")).bind(name).fetch_optional(&self.pool).await?;
        row.as_ref().map(AccountRow::from_row).transpose()
    }

    /// Sets (or with `None`, clears) an account's rate limit: not chosen before `until`, and the
    /// window that was hit. [`StoreError::NotFound`] for an unknown account.
    pub async fn set_account_limit(
        &self,
        name: &str,
        until: Option<DateTime<Utc>>,
        window: Option<RateLimitWindow>,
    ) -> Result<(), StoreError> {
        let window = window.map(window_to_text).transpose()?;
        self.written(async {
            let done = sqlx::query(
                "UPDATE accounts SET limited_until = $2, limit_window = $3, updated_at = $4 WHERE name = $1",
            )
            .bind(name)
            .bind(opt_ms(until))
            .bind(window)
            .bind(ms(Utc::now()))
            .execute(&self.pool)
            .await?;
            changed(&done, || format!("account {name:?}"))
        })
        .await
    }

    /// Records the account's utilization as a session's CLI reported it. A report older than
    /// the one stored changes nothing (two sessions on one account report in any order).
    /// [`StoreError::NotFound`] for an unknown account.
    pub async fn set_account_utilization(&self, name: &str, utilization: &PlanUtilization) -> Result<(), StoreError> {
        let json = serde_json::to_string(utilization)
            .map_err(|e| StoreError::Invalid { what: format!("utilization of {name:?}: {e}") })?;
        self.written(async {
            // One statement: the newer report wins whatever the order the writes land in.
            let done = sqlx::query(
                "UPDATE accounts SET utilization = $2, utilization_at = $3, updated_at = $4 \
                 WHERE name = $1 AND (utilization_at IS NULL OR utilization_at <= $3)",
            )
            .bind(name)
            .bind(json)
            .bind(ms(utilization.observed_at))
            .bind(ms(Utc::now()))
            .execute(&self.pool)
            .await?;
            if done.rows_affected() == 0 && self.get_account(name).await?.is_none() {
                return Err(StoreError::NotFound { what: format!("account {name:?}") });
            }
            Ok(())
        })
        .await
    }

    /// Adds to an account's usage counters (atomically, safe from several tasks).
    /// [`StoreError::NotFound`] for an unknown account; [`StoreError::Invalid`] for a cost that
    /// is negative or not finite.
    pub async fn add_usage(
        &self,
        name: &str,
        sessions: u64,
        input_tokens: u64,
        output_tokens: u64,
        cost_usd: f64,
    ) -> Result<(), StoreError> {
        if !cost_usd.is_finite() || cost_usd < 0.0 {
            return Err(StoreError::Invalid { what: format!("cost {cost_usd} USD") });
        }
        let sessions = to_i64(sessions, "session count")?;
        let input_tokens = to_i64(input_tokens, "input token count")?;
        let output_tokens = to_i64(output_tokens, "output token count")?;
        self.written(async {
            let done = sqlx::query(
                "UPDATE accounts SET sessions = sessions + $2, input_tokens = input_tokens + $3, \
             output_tokens = output_tokens + $4, cost_usd = cost_usd + $5, updated_at = $6 WHERE name = $1",
            )
            .bind(name)
            .bind(sessions)
            .bind(input_tokens)
            .bind(output_tokens)
            .bind(cost_usd)
            .bind(ms(Utc::now()))
            .execute(&self.pool)
            .await?;
            changed(&done, || format!("account {name:?}"))
        })
        .await
    }
}
