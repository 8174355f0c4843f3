//! Account choice: which account a session runs under.

use chrono::{DateTime, Utc};
use cockpit_api::PlanUtilization;

/// What the decisions need to know of an account.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountInfo {
    /// The account's name.
    pub name: String,
    /// Higher is chosen first.
    pub priority: i32,
    /// At most this many sessions at once, if set.
    pub max_sessions: Option<u32>,
    /// Not chosen before this time (a usage limit).
    pub limited_until: Option<DateTime<Utc>>,
    /// Sessions running under it now.
    pub active_sessions: u32,
    /// Proactive rotation threshold in percent of the 5-hour or weekly window, if set.
    pub rotate_at: Option<u8>,
    /// Its utilization as a session's CLI last reported it.
    pub utilization: Option<PlanUtilization>,
}

impl AccountInfo {
    /// True when a usage limit is in force at `now`.
    pub fn is_limited(&self, now: DateTime<Utc>) -> bool {
        self.limited_until.is_some_and(|until| until > now)
    }

    /// The window and share that reach the account's `rotate_at` at `now`, judged on
    /// `utilization` (the freshest report known), if any.
    pub fn over_rotate_at(
        &self,
        utilization: Option<&PlanUtilization>,
        now: DateTime<Utc>,
    ) -> Option<(f64, &'static str)> {
        let threshold = f64::from(self.rotate_at?);
        utilization.or(self.utilization.as_ref())?.highest_at(now).filter(|(used, _)| *used >= threshold)
    }

    /// True when the account can take one more session at `now`.
    pub fn is_eligible(&self, now: DateTime<Utc>) -> bool {
        !self.is_limited(now) && self.max_sessions.is_none_or(|max| self.active_sessions < max)
    }
}

/// The outcome of [`choose_account`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Run under this account.
    Account(String),
    /// Every candidate is rate limited; the earliest reset is when to try again.
    AllLimited {
        /// The earliest `limited_until` among the candidates.
        until: DateTime<Utc>,
    },
    /// Candidates exist but all are at their `max_sessions`.
    AllBusy,
    /// No account is configured, or `account_ref` names none.
    NoAccount {
        /// Why.
        reason: String,
    },
}

/// Picks the account for a session: the one named by `account_ref` when given; otherwise the
/// highest-priority account that is not limited and not full, with the fewest running sessions
/// (ties broken by name) — preferring accounts below their `rotate_at` over those above it. `exclude` is left out (the account a session is leaving).
pub fn choose_account(
    accounts: &[AccountInfo],
    account_ref: Option<&str>,
    exclude: Option<&str>,
    now: DateTime<Utc>,
) -> Choice {
    let candidates: Vec<&AccountInfo> = match account_ref {
        Some(name) => match accounts.iter().find(|a| a.name == name) {
            Some(account) => vec![account],
            None => return Choice::NoAccount { reason: format!("account {name:?} does not exist") },
        },
        None => accounts.iter().filter(|a| Some(a.name.as_str()) != exclude).collect(),
    };
    if candidates.is_empty() {
        return Choice::NoAccount {
            reason: if accounts.is_empty() {
                "no account is configured".to_owned()
            } else {
                "no other account is configured".to_owned()
            },
        };
    }
    let best = candidates.iter().filter(|a| a.is_eligible(now)).min_by(|a, b| {
        let over = |x: &AccountInfo| x.over_rotate_at(None, now).is_some();
        over(a)
            .cmp(&over(b))
            .then(b.priority.cmp(&a.priority))
            .then(a.active_sessions.cmp(&b.active_sessions))
            .then(a.name.cmp(&b.name))
    });
    if let Some(best) = best {
        return Choice::Account(best.name.clone());
    }
    match candidates.iter().filter(|a| a.is_limited(now)).filter_map(|a| a.limited_until).min() {
        Some(until) => Choice::AllLimited { until },
        None => Choice::AllBusy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).single().expect("valid")
    }

    fn acct(name: &str, priority: i32, active: u32) -> AccountInfo {
        AccountInfo {
            name: name.into(),
            priority,
            max_sessions: None,
            limited_until: None,
            active_sessions: active,
            rotate_at: None,
            utilization: None,
        }
    }

    #[test]
    fn accounts_over_their_rotate_at_come_last() {
        let mut busy = acct("hi", 9, 0);
        busy.rotate_at = Some(80);
        busy.utilization = Some(PlanUtilization {
            five_hour: Some(cockpit_api::UsageWindow { used_percent: 85.0, resets_at: None }),
            seven_day: None,
            observed_at: now(),
        });
        assert_eq!(busy.over_rotate_at(None, now()), Some((85.0, "5-hour")));
        let accounts = [busy.clone(), acct("lo", 1, 3)];
        assert_eq!(choose_account(&accounts, None, None, now()), Choice::Account("lo".into()));
        assert_eq!(
            choose_account(&[busy.clone()], None, None, now()),
            Choice::Account("hi".into()),
            "above the threshold is still better than not running"
        );
        busy.rotate_at = None;
        assert_eq!(busy.over_rotate_at(None, now()), None, "no threshold, no early move");
    }

    #[test]
    fn highest_priority_then_fewest_sessions_then_name() {
        let accounts = [acct("b", 5, 2), acct("a", 5, 2), acct("c", 5, 1), acct("low", 1, 0)];
        assert_eq!(choose_account(&accounts, None, None, now()), Choice::Account("c".into()));
        let accounts = [acct("b", 5, 2), acct("a", 5, 2)];
        assert_eq!(choose_account(&accounts, None, None, now()), Choice::Account("a".into()));
        let accounts = [acct("hi", 9, 7), acct("lo", 1, 0)];
        assert_eq!(choose_account(&accounts, None, None, now()), Choice::Account("hi".into()));
    }

    #[test]
    fn limited_and_full_accounts_are_skipped() {
        let mut limited = acct("hi", 9, 0);
        limited.limited_until = Some(now() + chrono::Duration::hours(1));
        let mut full = acct("mid", 5, 2);
        full.max_sessions = Some(2);
        let accounts = [limited, full, acct("lo", 1, 4)];
        assert_eq!(choose_account(&accounts, None, None, now()), Choice::Account("lo".into()));
    }

    #[test]
    fn a_passed_reset_makes_an_account_eligible_again() {
        let mut a = acct("a", 1, 0);
        a.limited_until = Some(now() - chrono::Duration::seconds(1));
        assert_eq!(choose_account(&[a], None, None, now()), Choice::Account("a".into()));
    }

    #[test]
    fn all_limited_reports_the_earliest_reset() {
        let mut a = acct("a", 1, 0);
        a.limited_until = Some(now() + chrono::Duration::hours(3));
        let mut b = acct("b", 2, 0);
        b.limited_until = Some(now() + chrono::Duration::hours(1));
        assert_eq!(
            choose_account(&[a, b], None, None, now()),
            Choice::AllLimited { until: now() + chrono::Duration::hours(1) }
        );
    }

    #[test]
    fn all_busy_and_no_accounts() {
        let mut a = acct("a", 1, 1);
        a.max_sessions = Some(1);
        assert_eq!(choose_account(&[a], None, None, now()), Choice::AllBusy);
        assert!(matches!(choose_account(&[], None, None, now()), Choice::NoAccount { .. }));
    }

    #[test]
    fn account_ref_is_honoured_even_when_others_are_better() {
        let accounts = [acct("best", 9, 0), acct("mine", 0, 5)];
        assert_eq!(choose_account(&accounts, Some("mine"), None, now()), Choice::Account("mine".into()));
        let mut mine = acct("mine", 0, 0);
        mine.limited_until = Some(now() + chrono::Duration::hours(2));
        assert_eq!(
            choose_account(&[acct("best", 9, 0), mine], Some("mine"), None, now()),
            Choice::AllLimited { until: now() + chrono::Duration::hours(2) }
        );
        assert!(matches!(choose_account(&accounts, Some("ghost"), None, now()), Choice::NoAccount { .. }));
    }

    #[test]
    fn the_account_being_left_is_excluded() {
        let accounts = [acct("a", 9, 0), acct("b", 1, 0)];
        assert_eq!(choose_account(&accounts, None, Some("a"), now()), Choice::Account("b".into()));
        assert!(matches!(choose_account(&[acct("a", 9, 0)], None, Some("a"), now()), Choice::NoAccount { .. }));
    }
}
