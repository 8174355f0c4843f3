//! What to tell the person, as a pure function: the last thing noted of a session and its new
//! view give at most one notification. The notifier keeps the [`Seen`] of every session and
//! calls [`notification`] on each change.
//!
//! The rules: a permission request (entered), a turn that ends (`Working` → `Idle`), a usage
//! limit (entered, or a move to another account because of one), a refused login (entered), and
//! the end of a session that finished or failed by itself (a session stopped on request ends
//! quietly: the person did it). The same state twice gives nothing.

use chrono::{DateTime, Duration, Utc};
use cockpit_api::api::SessionView;
use cockpit_api::ids::SessionId;
use cockpit_api::{Activity, SessionMode, SessionPhase};
use serde::{Deserialize, Serialize};

/// Where a session is, as far as notifications care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Moment {
    /// No worker: pending, or between two workers.
    Waiting,
    /// [`Activity::Starting`].
    Starting,
    /// [`Activity::Working`].
    Working,
    /// [`Activity::Idle`].
    Idle,
    /// [`Activity::NeedsApproval`].
    NeedsApproval,
    /// [`Activity::RateLimited`], or every account limited.
    RateLimited,
    /// [`Activity::NeedsLogin`].
    NeedsLogin,
    /// Finished, failed or stopped: it will not run again.
    Ended,
}

impl Moment {
    /// Every moment.
    pub const ALL: [Moment; 8] = [
        Moment::Waiting,
        Moment::Starting,
        Moment::Working,
        Moment::Idle,
        Moment::NeedsApproval,
        Moment::RateLimited,
        Moment::NeedsLogin,
        Moment::Ended,
    ];
}

/// What the notifier remembers of a session between two changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Where it was.
    pub moment: Moment,
    /// How many times it had moved to another account.
    pub rotations: u32,
}

/// How soon the push service should deliver (RFC 8030 §5.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Urgency {
    /// Deliver when convenient.
    #[default]
    Normal,
    /// Deliver now: the session is blocked on the person.
    High,
}

impl Urgency {
    /// The `Urgency` header value.
    pub fn as_header(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::High => "high",
        }
    }
}

/// One notification: the JSON payload the service worker shows (`title`, `body`; tapping it
/// opens `url`; a newer one with the same `tag` replaces it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The headline.
    pub title: String,
    /// One or two short sentences.
    pub body: String,
    /// The app path to open (`/s/{id}`).
    pub url: String,
    /// One per session: the latest news replaces older news on the lock screen.
    pub tag: String,
    /// Delivery urgency (a request header, not part of the payload).
    #[serde(skip)]
    pub urgency: Urgency,
}

impl Notification {
    /// The test notification `POST /api/push/test` sends.
    pub fn test() -> Notification {
        Notification {
            title: "Cockpit notifications work".to_owned(),
            body: "This device will hear when a session needs you.".to_owned(),
            url: "/settings".to_owned(),
            tag: "cockpit-test".to_owned(),
            urgency: Urgency::Normal,
        }
    }
}

/// Where `view` is now.
pub fn seen(view: &SessionView) -> Seen {
    let status = &view.status;
    let moment = if status.phase.is_terminal() {
        Moment::Ended
    } else if status.phase == SessionPhase::RateLimited {
        Moment::RateLimited
    } else {
        match status.activity {
            None | Some(Activity::Exited) => Moment::Waiting,
            Some(Activity::Starting) => Moment::Starting,
            Some(Activity::Working) => Moment::Working,
            Some(Activity::Idle) => Moment::Idle,
            Some(Activity::NeedsApproval) => Moment::NeedsApproval,
            Some(Activity::RateLimited) => Moment::RateLimited,
            Some(Activity::NeedsLogin) => Moment::NeedsLogin,
        }
    };
    Seen { moment, rotations: status.rotations }
}

/// The notification the change from `previous` (`None`: the session was never seen) to `view`
/// calls for, if any. `now` only shapes how a reset time is written.
pub fn notification(previous: Option<Seen>, view: &SessionView, now: DateTime<Utc>) -> Option<Notification> {
    let current = seen(view);
    let before = previous.unwrap_or(Seen { moment: Moment::Waiting, rotations: current.rotations });
    let name = clip(&view.name, 60);
    let status = &view.status;
    let entered = current.moment != before.moment;
    let (title, body, urgency) = match current.moment {
        _ if current.rotations > before.rotations && current.moment != Moment::RateLimited => {
            let next =
                status.account.as_deref().map_or_else(|| "another account".to_owned(), |a| format!("account {a}"));
            (format!("{name} hit its usage limit"), format!("Continuing on {}.", clip(&next, 60)), Urgency::Normal)
        }
        _ if !entered => return None,
        Moment::NeedsApproval => {
            let tool = view.live.as_ref().and_then(|l| l.approval.as_ref()).map(|a| a.tool.as_str());
            let body = match tool {
                Some(tool) if !tool.is_empty() && tool != "unknown" => {
                    format!("Claude wants to use {}.", clip(tool, 40))
                }
                _ => "A tool call waits for your allow or deny.".to_owned(),
            };
            (format!("{name} needs approval"), body, Urgency::High)
        }
        Moment::Idle if before.moment == Moment::Working => {
            (format!("{name} is waiting for you"), "Claude finished its turn.".to_owned(), Urgency::Normal)
        }
        Moment::RateLimited => {
            let resets = status.rate_limit.as_ref().and_then(|l| l.resets_at);
            (format!("{name} hit its usage limit"), reset_text(resets, now), Urgency::Normal)
        }
        Moment::NeedsLogin => {
            let body = match status.account.as_deref() {
                Some(account) => format!("The credentials of account {} were refused.", clip(account, 60)),
                None => "Its credentials were refused.".to_owned(),
            };
            (format!("{name} needs a login"), body, Urgency::High)
        }
        Moment::Ended => {
            let body = match status.phase {
                SessionPhase::Succeeded if view.spec.mode == SessionMode::Oneshot => "The task finished.".to_owned(),
                SessionPhase::Succeeded => "Claude Code exited.".to_owned(),
                SessionPhase::Failed => match status.message.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
                    Some(message) => format!("It failed: {}", clip(message, 160)),
                    None => "It failed.".to_owned(),
                },
                // Stopped on request: the person knows.
                _ => return None,
            };
            (format!("{name} ended"), body, Urgency::Normal)
        }
        Moment::Waiting | Moment::Starting | Moment::Working | Moment::Idle => return None,
    };
    Some(Notification { title, body, url: session_url(&view.id), tag: format!("session-{}", view.id), urgency })
}

/// The app's path of a session (`/s/{id}`, the id percent-encoded as `encodeURIComponent` would).
pub fn session_url(id: &SessionId) -> String {
    let mut url = String::from("/s/");
    for byte in id.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => url.push(byte as char),
            other => url.push_str(&format!("%{other:02X}")),
        }
    }
    url
}

/// `Resets 23:29 UTC.` (with the day when it is a day or more away).
fn reset_text(resets_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match resets_at {
        Some(at) if at - now < Duration::hours(24) => format!("Resets {} UTC.", at.format("%H:%M")),
        Some(at) => format!("Resets {} UTC.", at.format("%a %-d %b %H:%M")),
        None => "The reset time is not known.".to_owned(),
    }
}

/// At most `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use cockpit_api::{PendingApproval, RateLimit, RateLimitWindow, WorkerState};

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 20, 36, 0).single().expect("valid")
    }

    fn view(phase: SessionPhase, activity: Option<Activity>) -> SessionView {
        let spec = serde_json::from_value(serde_json::json!({ "repo": "demo" })).expect("spec");
        let mut status = cockpit_api::ClaudeSessionStatus { phase, activity, ..Default::default() };
        status.account = Some("alpha".into());
        SessionView {
            id: "5f0c-id".into(),
            name: "fix-login".into(),
            spec,
            status,
            live: None,
            created_at: now(),
            deleted_at: None,
        }
    }

    /// A running session's view at `moment`.
    fn at(moment: Moment) -> SessionView {
        match moment {
            Moment::Waiting => view(SessionPhase::Pending, None),
            Moment::Starting => view(SessionPhase::Starting, Some(Activity::Starting)),
            Moment::Working => view(SessionPhase::Running, Some(Activity::Working)),
            Moment::Idle => view(SessionPhase::Running, Some(Activity::Idle)),
            Moment::NeedsApproval => view(SessionPhase::Running, Some(Activity::NeedsApproval)),
            Moment::RateLimited => view(SessionPhase::Running, Some(Activity::RateLimited)),
            Moment::NeedsLogin => view(SessionPhase::Running, Some(Activity::NeedsLogin)),
            Moment::Ended => view(SessionPhase::Failed, Some(Activity::Exited)),
        }
    }

    fn was(moment: Moment) -> Option<Seen> {
        Some(Seen { moment, rotations: 0 })
    }

    #[test]
    fn views_map_to_moments() {
        for moment in Moment::ALL {
            assert_eq!(seen(&at(moment)).moment, moment);
        }
        for phase in SessionPhase::ALL.into_iter().filter(|p| p.is_terminal()) {
            for activity in Activity::ALL.map(Some).into_iter().chain([None]) {
                assert_eq!(seen(&view(phase, activity)).moment, Moment::Ended, "{phase:?} {activity:?}");
            }
        }
        for activity in Activity::ALL.map(Some).into_iter().chain([None]) {
            let all_limited = view(SessionPhase::RateLimited, activity);
            assert_eq!(seen(&all_limited).moment, Moment::RateLimited, "{activity:?}");
        }
        assert_eq!(seen(&view(SessionPhase::Pending, Some(Activity::Exited))).moment, Moment::Waiting);
    }

    /// Every pair of moments: which changes notify, and that staying never does.
    #[test]
    fn every_transition() {
        for from in Moment::ALL.map(Some).into_iter().chain([None]) {
            for to in Moment::ALL {
                let got = notification(from.and_then(was), &at(to), now()).map(|n| n.title);
                let from_moment = from.unwrap_or(Moment::Waiting);
                let want = match to {
                    _ if from == Some(to) => None,
                    Moment::NeedsApproval => Some("fix-login needs approval"),
                    Moment::Idle if from_moment == Moment::Working => Some("fix-login is waiting for you"),
                    Moment::RateLimited => Some("fix-login hit its usage limit"),
                    Moment::NeedsLogin => Some("fix-login needs a login"),
                    Moment::Ended => Some("fix-login ended"),
                    _ => None,
                };
                assert_eq!(got.as_deref(), want, "{from:?} → {to:?}");
            }
        }
    }

    #[test]
    fn approval_names_the_tool_when_known() {
        let mut v = at(Moment::NeedsApproval);
        let n = notification(was(Moment::Working), &v, now()).expect("notifies");
        assert_eq!(n.body, "A tool call waits for your allow or deny.");
        assert_eq!(n.urgency, Urgency::High);
        assert_eq!((n.url.as_str(), n.tag.as_str()), ("/s/5f0c-id", "session-5f0c-id"));
        let mut live = WorkerState::starting(SessionMode::Interactive, 80, 24, now());
        live.activity = Activity::NeedsApproval;
        live.approval = Some(PendingApproval::on_screen("unknown".into()));
        v.live = Some(live.clone());
        let n = notification(was(Moment::Working), &v, now()).expect("notifies");
        assert_eq!(n.body, "A tool call waits for your allow or deny.", "the screen could not tell");
        live.approval = Some(PendingApproval {
            id: "a1".into(),
            tool: "Bash".into(),
            input: serde_json::json!({"command": "rm -rf build"}),
            answerable: true,
            view: None,
            suggestions: Vec::new(),
            always_allows: None,
        });
        v.live = Some(live);
        let n = notification(was(Moment::Working), &v, now()).expect("notifies");
        assert_eq!(n.body, "Claude wants to use Bash.");
        assert!(!n.body.contains("rm -rf"), "the tool's input stays off the lock screen");
    }

    #[test]
    fn usage_limits_say_when_they_reset() {
        let mut v = at(Moment::RateLimited);
        let limit = |resets_at| RateLimit { window: RateLimitWindow::Session, resets_at, message: "limit".into() };
        v.status.rate_limit = Some(limit(Some(now() + Duration::minutes(173))));
        let n = notification(was(Moment::Working), &v, now()).expect("notifies");
        assert_eq!((n.title.as_str(), n.body.as_str()), ("fix-login hit its usage limit", "Resets 23:29 UTC."));
        v.status.rate_limit = Some(limit(Some(now() + Duration::days(2))));
        let n = notification(was(Moment::Working), &v, now()).expect("notifies");
        assert_eq!(n.body, "Resets Fri 27 Nov 20:36 UTC.");
        v.status.rate_limit = Some(limit(None));
        assert_eq!(
            notification(was(Moment::Working), &v, now()).expect("notifies").body,
            "The reset time is not known."
        );
        // Every account limited: the phase says so, whatever the worker last reported.
        let mut waiting = view(SessionPhase::RateLimited, Some(Activity::Exited));
        waiting.status.rate_limit = Some(limit(Some(now() + Duration::hours(1))));
        let n = notification(was(Moment::Working), &waiting, now()).expect("notifies");
        assert_eq!(n.body, "Resets 21:36 UTC.");
        assert_eq!(notification(was(Moment::RateLimited), &waiting, now()), None, "no repeat");
    }

    #[test]
    fn a_move_to_another_account_is_news_once() {
        let mut v = at(Moment::Starting);
        v.status.rotations = 1;
        v.status.account = Some("beta".into());
        let before = Some(Seen { moment: Moment::Working, rotations: 0 });
        let n = notification(before, &v, now()).expect("notifies");
        assert_eq!(
            (n.title.as_str(), n.body.as_str()),
            ("fix-login hit its usage limit", "Continuing on account beta.")
        );
        assert_eq!(notification(Some(seen(&v)), &v, now()), None, "seen once");
        assert_eq!(notification(None, &v, now()), None, "never seen before: no baseline to compare");
    }

    #[test]
    fn endings_say_how() {
        let mut done = view(SessionPhase::Succeeded, Some(Activity::Exited));
        assert_eq!(notification(was(Moment::Idle), &done, now()).expect("ends").body, "Claude Code exited.");
        done.spec.mode = SessionMode::Oneshot;
        assert_eq!(notification(was(Moment::Working), &done, now()).expect("ends").body, "The task finished.");
        let mut failed = view(SessionPhase::Failed, None);
        failed.status.message = Some("the worker could not start: no such file".into());
        let n = notification(was(Moment::Starting), &failed, now()).expect("ends");
        assert_eq!(n.body, "It failed: the worker could not start: no such file");
        failed.status.message = Some("x".repeat(500));
        assert!(notification(was(Moment::Starting), &failed, now()).expect("ends").body.chars().count() < 200);
        let stopped = view(SessionPhase::Stopped, Some(Activity::Exited));
        assert_eq!(notification(was(Moment::Working), &stopped, now()), None, "stopped on request: quiet");
        assert_eq!(notification(was(Moment::Ended), &done, now()), None, "no repeat");
    }

    #[test]
    fn login_and_names() {
        let mut v = at(Moment::NeedsLogin);
        v.name = "n".repeat(63);
        v.id = "a b/ü".into();
        let n = notification(was(Moment::Working), &v, now()).expect("notifies");
        assert_eq!(n.body, "The credentials of account alpha were refused.");
        assert!(n.title.chars().count() <= 60 + " needs a login".len());
        assert_eq!(n.url, "/s/a%20b%2F%C3%BC");
        assert_eq!(n.urgency, Urgency::High);
    }

    #[test]
    fn the_payload_is_what_the_service_worker_reads() {
        let n = notification(was(Moment::Working), &at(Moment::Idle), now()).expect("notifies");
        let json = serde_json::to_value(&n).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "title": "fix-login is waiting for you",
                "body": "Claude finished its turn.",
                "url": "/s/5f0c-id",
                "tag": "session-5f0c-id",
            })
        );
    }
}
