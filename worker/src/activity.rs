//! The activity tracker: combines Claude Code's hooks (first) with the screen classifier
//! (fallback) and the process's fate into one activity. Pure: events in, state out.

use chrono::{DateTime, Utc};
use cockpit_api::ids::ConversationId;
use cockpit_api::{Activity, Denial, PendingApproval, RateLimit, RateLimitWindow, StatusReport};

use crate::classify::ScreenClass;
use crate::hooks::{HookContext, HookEvent};
use crate::ratelimit::{is_transient_error, parse_limit_message};

/// Where the current activity came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Source {
    /// Nothing has been observed yet.
    #[default]
    Start,
    /// A Claude Code hook.
    Hook,
    /// The screen classifier: a display hint, never grounds for an action.
    Screen,
    /// The CLI's usage-limit dialog, opened by the CLI at the end of a turn: evidence of a
    /// new limit hit (read from the screen, but only the CLI opens that dialog).
    Dialog,
    /// A one-shot run's stream-json.
    Stream,
    /// The process (exit).
    Process,
}

impl Source {
    /// The name reported in `WorkerState::source`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Start => "start",
            Source::Hook => "hook",
            Source::Screen => "screen",
            Source::Dialog => "dialog",
            Source::Stream => "stream",
            Source::Process => "process",
        }
    }
}

/// What the tracker knows (by default: starting, nothing observed yet).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tracked {
    /// The current activity.
    pub activity: Activity,
    /// When it last changed.
    pub since: DateTime<Utc>,
    /// Where it came from.
    pub source: Source,
    /// The Claude conversation id, once known.
    pub claude_session_id: Option<ConversationId>,
    /// The last usage limit hit.
    pub rate_limit: Option<RateLimit>,
    /// The pending permission request.
    pub approval: Option<PendingApproval>,
    /// The exit code, once the process exited.
    pub exit_code: Option<i32>,
    /// The last prompt submitted.
    pub last_prompt: Option<String>,
    /// The CLI's permission mode: the one it was started in, then what its hooks report.
    pub permission_mode: Option<cockpit_api::PermissionMode>,
    /// What the status line reported last.
    pub report: Option<StatusReport>,
    /// The last tool call the CLI refused by itself.
    pub last_denial: Option<Denial>,
    /// Claude's last answer, as the `Stop` hook gave it.
    pub last_message: Option<String>,
}

/// The activity state machine.
#[derive(Clone, Debug)]
pub struct ActivityTracker {
    state: Tracked,
    hooks_seen: bool,
    last_screen: ScreenClass,
    /// The screen showed the idle prompt since the CLI's hook said a turn started.
    screen_idle_in_turn: bool,
    /// The Stop hook ended the turn before the screen showed its end: what the screen shows
    /// until its idle prompt is output from before that hook (a spinner still being drawn),
    /// not a new turn.
    screen_behind_hook: bool,
    /// A permission request was allowed and no hook came since: its tool is about to run or
    /// running, so an idle prompt on screen (the CLI may draw one between the dialog and the
    /// tool) is not the end of the turn.
    tool_allowed: bool,
    /// The UserPromptSubmit hook started a turn and neither the screen (a spinner, a dialog)
    /// nor another hook has shown it since: the prompt box on screen is the one the prompt was
    /// typed into, drawn before the CLI sent its request, not the end of the turn.
    screen_before_turn: bool,
}

impl ActivityTracker {
    /// A tracker for a process started at `now`.
    pub fn new(now: DateTime<Utc>) -> ActivityTracker {
        ActivityTracker {
            state: Tracked { since: now, ..Tracked::default() },
            hooks_seen: false,
            last_screen: ScreenClass::Unknown,
            screen_idle_in_turn: false,
            screen_behind_hook: false,
            tool_allowed: false,
            screen_before_turn: false,
        }
    }

    /// The current state.
    pub fn state(&self) -> &Tracked {
        &self.state
    }

    /// Records the prompt a run started with (one-shot, or an interactive first message).
    pub fn set_last_prompt(&mut self, prompt: String) {
        self.state.last_prompt = Some(prompt);
    }

    /// Sets the permission mode the CLI was started in.
    pub fn set_permission_mode(&mut self, mode: cockpit_api::PermissionMode) {
        self.state.permission_mode = Some(mode);
    }

    /// Sets the Claude session id known in advance (`--session-id`, `--resume`).
    pub fn set_claude_session_id(&mut self, id: ConversationId) {
        self.state.claude_session_id = Some(id);
    }

    /// Sets the activity and its source. The screen never downgrades the evidence of an
    /// activity that does not change: an idle prompt drawn after the Stop hook is still the
    /// hook's Idle (the end of a turn on the CLI's own word).
    fn set(&mut self, activity: Activity, source: Source, now: DateTime<Utc>) {
        if self.state.activity != activity {
            self.state.since = now;
            self.state.source = source;
        } else if source != Source::Screen {
            self.state.source = source;
        }
        self.state.activity = activity;
    }

    fn exited(&self) -> bool {
        self.state.activity == Activity::Exited
    }

    /// Applies a hook event. `approval_id` names the request when the event is a
    /// PermissionRequest. Returns true when the state changed.
    pub fn on_hook(&mut self, event: &HookEvent, approval_id: Option<&str>, now: DateTime<Utc>) -> bool {
        self.on_hook_from(event, &HookContext::default(), approval_id, now)
    }

    /// [`Self::on_hook`] with what the post said besides its event: the Claude session id (the
    /// CLI's word on which conversation this is wins over what the worker was started with) and
    /// the permission mode (a Shift-Tab in the terminal shows at the next hook).
    pub fn on_hook_from(
        &mut self,
        event: &HookEvent,
        context: &HookContext,
        approval_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> bool {
        if self.exited() {
            return false;
        }
        // The status line refreshes on its own schedule: usage figures, not a turn's event.
        if let HookEvent::StatusLine(input) = event {
            return self.on_status_line(input.report(now));
        }
        let before = self.state.clone();
        self.hooks_seen = true;
        self.tool_allowed = false;
        self.screen_before_turn = false;
        if let Some(id) = &context.session_id {
            self.state.claude_session_id = Some(id.as_str().into());
        }
        if let Some(mode) = context.permission_mode {
            self.state.permission_mode = Some(mode);
        }
        if let Some(words) = context.last_assistant_message.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            self.state.last_message =
                Some(cockpit_api::tool_view::cut(words, cockpit_api::worker_state::LAST_MESSAGE_CHARS).0);
        }
        match event {
            HookEvent::SessionStart { session_id } => {
                if let Some(id) = session_id {
                    self.state.claude_session_id = Some(id.as_str().into());
                }
                if self.state.activity == Activity::Starting {
                    self.set(Activity::Idle, Source::Hook, now);
                }
            }
            HookEvent::UserPromptSubmit { prompt } => {
                self.screen_idle_in_turn = false;
                self.screen_behind_hook = false;
                self.screen_before_turn = self.last_screen != ScreenClass::Working;
                if let Some(prompt) = prompt.as_ref().filter(|p| !p.is_empty()) {
                    self.state.last_prompt = Some(prompt.clone());
                }
                self.state.approval = None;
                self.set(Activity::Working, Source::Hook, now);
            }
            HookEvent::PreToolUse | HookEvent::PostToolUse => {
                self.screen_behind_hook = false;
                self.state.approval = None;
                self.set(Activity::Working, Source::Hook, now);
            }
            HookEvent::PermissionRequest { tool, input, suggestions } => {
                self.state.approval = Some(PendingApproval {
                    id: approval_id.unwrap_or("screen").to_owned(),
                    tool: tool.clone(),
                    input: input.clone(),
                    answerable: approval_id.is_some(),
                    view: Some(cockpit_api::tool_view::tool_view(tool, input)),
                    always_allows: cockpit_api::activity::describe_always_allow(suggestions),
                    suggestions: suggestions.clone(),
                });
                self.set(Activity::NeedsApproval, Source::Hook, now);
            }
            HookEvent::Notification { kind, message } => match kind.as_str() {
                // A dialog the person answers in the terminal: a permission prompt without the
                // PermissionRequest hook, an MCP elicitation, or a question Claude asks
                // (`agent_needs_input`). Typed text must not land in it.
                "permission_prompt" | "elicitation_dialog" | "agent_needs_input" => {
                    if self.state.approval.is_none() {
                        self.state.approval = Some(PendingApproval::on_screen(if kind == "permission_prompt" {
                            tool_from_notification(message)
                        } else {
                            "question".to_owned()
                        }));
                    }
                    self.set(Activity::NeedsApproval, Source::Hook, now);
                }
                "idle_prompt" if !matches!(self.state.activity, Activity::RateLimited | Activity::NeedsLogin) => {
                    self.state.approval = None;
                    self.set(Activity::Idle, Source::Hook, now);
                }
                _ => {}
            },
            HookEvent::Stop => {
                self.state.approval = None;
                self.screen_behind_hook = !self.screen_idle_in_turn;
                self.set(Activity::Idle, Source::Hook, now);
            }
            HookEvent::StopFailure { error, message } => {
                self.state.approval = None;
                match error.as_str() {
                    // The CLI files API-key 429s and "not your usage limit" 429s under
                    // `rate_limit` too: only the account's own usage limit counts.
                    "rate_limit" if parse_limit_message(message, now).is_none() && is_transient_error(message) => {
                        self.set(Activity::Idle, Source::Hook, now)
                    }
                    "rate_limit" => {
                        let limit = parse_limit_message(message, now).unwrap_or_else(|| RateLimit {
                            window: RateLimitWindow::Other,
                            resets_at: None,
                            message: message.clone(),
                        });
                        self.state.rate_limit = Some(limit);
                        self.set(Activity::RateLimited, Source::Hook, now);
                    }
                    "authentication_failed" | "oauth_org_not_allowed" | "billing_error" => {
                        self.set(Activity::NeedsLogin, Source::Hook, now)
                    }
                    _ => self.set(Activity::Idle, Source::Hook, now),
                }
            }
            HookEvent::PermissionDenied { tool, reason } => {
                // The CLI tells Claude and the turn goes on.
                self.state.last_denial = Some(Denial { tool: tool.clone(), reason: reason.clone(), at: now });
                self.set(Activity::Working, Source::Hook, now);
            }
            HookEvent::SessionEnd | HookEvent::StatusLine(_) => {}
        }
        self.state != before
    }

    /// Records what the status line reported; true when a figure changed (the observation
    /// time alone is no change: the first time a figure was seen is kept).
    fn on_status_line(&mut self, mut report: StatusReport) -> bool {
        if let (Some(old), Some(new)) = (self.state.report.as_ref().and_then(|r| r.plan), report.plan.as_mut())
            && old.same_windows(new)
        {
            new.observed_at = old.observed_at;
        }
        if self.state.report.as_ref() == Some(&report) {
            return false;
        }
        self.state.report = Some(report);
        true
    }

    /// Applies a new screen classification. Only a change of class counts (stale text that
    /// stays on screen re-asserts nothing). Strong screens (dialogs, limits, login) always
    /// apply; Working/Idle apply when no hook has been seen, or when they end a dialog the
    /// person answered by keys. Returns true when the state changed.
    pub fn on_screen(&mut self, class: ScreenClass, now: DateTime<Utc>) -> bool {
        if self.exited() || class == self.last_screen {
            return false;
        }
        let before = self.state.clone();
        let previous = std::mem::replace(&mut self.last_screen, class.clone());
        if class == ScreenClass::Idle && self.screen_before_turn {
            // The screen has not drawn the turn the hook started: still the prompt box.
            return false;
        }
        if class != ScreenClass::Unknown {
            self.screen_before_turn = false;
        }
        match class {
            ScreenClass::Unknown => {}
            ScreenClass::NeedsApproval { tool, .. } => {
                if self.state.approval.is_none() {
                    self.state.approval = Some(PendingApproval::on_screen(tool));
                }
                self.set(Activity::NeedsApproval, Source::Screen, now);
            }
            ScreenClass::RateLimited { limit, dialog_open } => {
                // The dialog the CLI opens when a turn ends in a limit is evidence of a hit; a
                // limit message that merely comes into view (a resumed conversation's history, a
                // resize that reflows an old line while a dialog waits) is at most a display
                // hint, shown only when it ends a turn the screen saw running.
                let turn_ran = matches!(self.state.activity, Activity::Working | Activity::Idle);
                let source = if dialog_open && turn_ran {
                    Source::Dialog
                } else if previous == ScreenClass::Working && self.state.activity != Activity::NeedsApproval {
                    Source::Screen
                } else {
                    return false;
                };
                let confirmed = self.state.activity == Activity::RateLimited && self.state.source != Source::Screen;
                if let Some(limit) = limit {
                    let better = match &self.state.rate_limit {
                        Some(known) => known.message != limit.message || known.resets_at.is_none(),
                        None => true,
                    };
                    if better && !(confirmed && self.state.source == Source::Hook) {
                        self.state.rate_limit = Some(limit);
                    }
                }
                if !confirmed {
                    self.set(Activity::RateLimited, source, now);
                }
            }
            ScreenClass::NeedsLogin => self.set(Activity::NeedsLogin, Source::Screen, now),
            ScreenClass::Working if self.screen_behind_hook && self.state.activity == Activity::Idle => {}
            ScreenClass::Working | ScreenClass::Idle => {
                if class == ScreenClass::Idle {
                    self.screen_idle_in_turn = true;
                    self.screen_behind_hook = false;
                }
                let activity = if class == ScreenClass::Working { Activity::Working } else { Activity::Idle };
                let dialog_closed = matches!(previous, ScreenClass::NeedsApproval { .. })
                    && self.state.activity == Activity::NeedsApproval;
                // A turn that starts or ends on screen is believed even with hooks (not every
                // path through the CLI fires Stop/StopFailure), but a limit or a refused login
                // stays until a hook or a new turn says otherwise.
                let turn_edge = matches!(self.state.activity, Activity::Working | Activity::Idle | Activity::Starting);
                let tool_about_to_run = self.tool_allowed && activity == Activity::Idle;
                if (dialog_closed || turn_edge || !self.hooks_seen) && !tool_about_to_run {
                    // Leaving a dialog (answered by keys, or a CLI without hooks moved on):
                    // the request it showed is gone too.
                    if self.state.activity == Activity::NeedsApproval {
                        self.state.approval = None;
                    }
                    self.set(activity, Source::Screen, now);
                }
            }
        }
        self.state != before
    }

    /// Records that a one-shot run's stream reported an activity.
    pub fn on_stream(&mut self, activity: Activity, rate_limit: Option<RateLimit>, now: DateTime<Utc>) -> bool {
        if self.exited() {
            return false;
        }
        let before = self.state.clone();
        if rate_limit.is_some() {
            self.state.rate_limit = rate_limit;
        }
        self.set(activity, Source::Stream, now);
        self.state != before
    }

    /// The pending approval `id` was answered by a client; `allowed`: its tool will run.
    pub fn answered(&mut self, id: &str, allowed: bool, now: DateTime<Utc>) -> bool {
        let cleared = self.clear_approval(id, now);
        self.tool_allowed = cleared && allowed;
        cleared
    }

    /// The pending approval was answered (or withdrawn).
    pub fn clear_approval(&mut self, id: &str, now: DateTime<Utc>) -> bool {
        if self.state.approval.as_ref().is_some_and(|a| a.id == id) {
            self.state.approval = None;
            if self.state.activity == Activity::NeedsApproval {
                self.set(Activity::Working, Source::Hook, now);
            }
            return true;
        }
        false
    }

    /// The process exited with `code`.
    pub fn on_exit(&mut self, code: i32, now: DateTime<Utc>) -> bool {
        if self.exited() {
            return false;
        }
        self.state.exit_code = Some(code);
        self.state.approval = None;
        self.set(Activity::Exited, Source::Process, now);
        true
    }
}

/// `Claude needs your permission to use Bash` → `Bash`.
fn tool_from_notification(message: &str) -> String {
    message.rsplit("to use ").next().filter(|t| !t.is_empty() && *t != message).unwrap_or("unknown").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(sec: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_795_552_000 + sec, 0).single().expect("valid")
    }

    #[test]
    fn hook_lifecycle_of_a_turn() {
        let mut tr = ActivityTracker::new(t(0));
        assert_eq!(tr.state().activity, Activity::Starting);
        assert!(tr.on_hook(&HookEvent::SessionStart { session_id: Some("abc".into()) }, None, t(1)));
        assert_eq!((tr.state().activity, tr.state().claude_session_id.as_deref()), (Activity::Idle, Some("abc")));
        tr.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(2));
        assert_eq!(tr.state().activity, Activity::Working);
        tr.on_hook(
            &HookEvent::PermissionRequest {
                tool: "Bash".into(),
                input: serde_json::json!({"command": "ls"}),
                suggestions: vec![],
            },
            Some("p1"),
            t(3),
        );
        assert_eq!(tr.state().activity, Activity::NeedsApproval);
        assert_eq!(tr.state().approval.as_ref().map(|a| (a.tool.as_str(), a.answerable)), Some(("Bash", true)));
        tr.on_hook(&HookEvent::PostToolUse, None, t(4));
        assert_eq!((tr.state().activity, tr.state().approval.is_none()), (Activity::Working, true));
        tr.on_hook(&HookEvent::Stop, None, t(5));
        assert_eq!((tr.state().activity, tr.state().since), (Activity::Idle, t(5)));
    }

    #[test]
    fn stop_failure_rate_limit_and_auth() {
        let mut tr = ActivityTracker::new(t(0));
        tr.on_hook(
            &HookEvent::StopFailure {
                error: "rate_limit".into(),
                message: "You've hit your weekly limit · resets Nov 27, 11:36pm (UTC)".into(),
            },
            None,
            t(1),
        );
        assert_eq!(tr.state().activity, Activity::RateLimited);
        assert_eq!(tr.state().rate_limit.as_ref().map(|l| l.window), Some(RateLimitWindow::Weekly));
        // The idle prompt after closing the dialog does not hide the limit.
        tr.on_screen(ScreenClass::Idle, t(2));
        tr.on_hook(&HookEvent::Notification { kind: "idle_prompt".into(), message: String::new() }, None, t(3));
        assert_eq!(tr.state().activity, Activity::RateLimited);
        tr.on_hook(&HookEvent::StopFailure { error: "authentication_failed".into(), message: "x".into() }, None, t(4));
        assert_eq!(tr.state().activity, Activity::NeedsLogin);
        tr.on_hook(&HookEvent::StopFailure { error: "overloaded".into(), message: "529".into() }, None, t(5));
        assert_eq!(tr.state().activity, Activity::Idle, "a transient error ends the turn, it is no limit");
        tr.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(6));
        let not_yours = "API Error: Server is temporarily limiting requests (not your usage limit) · slow down";
        tr.on_hook(&HookEvent::StopFailure { error: "rate_limit".into(), message: not_yours.into() }, None, t(7));
        assert_eq!(tr.state().activity, Activity::Idle, "a 429 that is not the account's limit is transient");
        tr.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(8));
        let api_key = "API Error: Request rejected (429) · This request would exceed your account's rate limit.";
        tr.on_hook(&HookEvent::StopFailure { error: "rate_limit".into(), message: api_key.into() }, None, t(9));
        assert_eq!(tr.state().activity, Activity::Idle);
    }

    /// The Stop hook can come before the PTY output drawn before it is classified: a spinner
    /// the screen shows after that hook is the turn that just ended, not a new one, so the
    /// hook's word that the turn is over (what an early rotation waits for) stands.
    #[test]
    fn a_screen_behind_the_stop_hook_does_not_reopen_the_turn() {
        let mut tr = ActivityTracker::new(t(0));
        tr.on_hook(&HookEvent::SessionStart { session_id: None }, None, t(1));
        tr.on_screen(ScreenClass::Idle, t(1));
        tr.on_hook(&HookEvent::UserPromptSubmit { prompt: Some("go".into()) }, None, t(2));
        tr.on_hook(&HookEvent::Stop, None, t(3));
        assert_eq!((tr.state().activity, tr.state().source), (Activity::Idle, Source::Hook));
        assert!(!tr.on_screen(ScreenClass::Working, t(4)), "the spinner drawn before Stop");
        tr.on_screen(ScreenClass::Idle, t(5));
        assert_eq!((tr.state().activity, tr.state().source, tr.state().since), (Activity::Idle, Source::Hook, t(3)));
        // Caught up, the screen is believed again: a turn started in the terminal shows.
        assert!(tr.on_screen(ScreenClass::Working, t(6)));
        assert_eq!((tr.state().activity, tr.state().source), (Activity::Working, Source::Screen));

        // A screen that showed the turn's end before the hook came is not behind it.
        let mut ahead = ActivityTracker::new(t(0));
        ahead.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(1));
        ahead.on_screen(ScreenClass::Working, t(1));
        ahead.on_screen(ScreenClass::Idle, t(2));
        ahead.on_hook(&HookEvent::Stop, None, t(3));
        assert_eq!((ahead.state().activity, ahead.state().source), (Activity::Idle, Source::Hook));
        assert!(ahead.on_screen(ScreenClass::Working, t(4)), "a new turn on screen");
        assert_eq!(ahead.state().activity, Activity::Working);
    }

    #[test]
    fn screen_is_the_fallback_without_hooks() {
        let mut tr = ActivityTracker::new(t(0));
        assert!(tr.on_screen(ScreenClass::Idle, t(1)));
        assert_eq!((tr.state().activity, tr.state().source), (Activity::Idle, Source::Screen));
        tr.on_screen(ScreenClass::Working, t(2));
        assert_eq!(tr.state().activity, Activity::Working);
        assert!(!tr.on_screen(ScreenClass::Working, t(3)), "same class changes nothing");
        tr.on_screen(ScreenClass::NeedsApproval { tool: "Bash".into(), question: "?".into() }, t(4));
        assert_eq!(tr.state().approval.as_ref().map(|a| a.answerable), Some(false));
        tr.on_screen(ScreenClass::Working, t(5));
        assert_eq!((tr.state().activity, tr.state().approval.is_none()), (Activity::Working, true));
        tr.on_screen(ScreenClass::NeedsLogin, t(6));
        assert_eq!(tr.state().activity, Activity::NeedsLogin);
        tr.on_screen(ScreenClass::NeedsApproval { tool: "Bash".into(), question: "?".into() }, t(7));
        tr.on_screen(ScreenClass::Unknown, t(8));
        tr.on_screen(ScreenClass::Idle, t(9));
        assert_eq!(
            (tr.state().activity, tr.state().approval.is_none()),
            (Activity::Idle, true),
            "a dialog gone from the screen takes its request with it, even via an unknown screen"
        );
    }

    #[test]
    fn a_limit_shown_as_history_is_no_new_hit() {
        let limit = RateLimit {
            window: RateLimitWindow::Session,
            resets_at: None,
            message: "You've hit your session limit".into(),
        };
        let mut resumed = ActivityTracker::new(t(0));
        resumed.on_screen(ScreenClass::RateLimited { limit: Some(limit.clone()), dialog_open: false }, t(1));
        assert_eq!(resumed.state().activity, Activity::Starting, "the resumed transcript ends with the old limit");
        let mut live = ActivityTracker::new(t(0));
        live.on_screen(ScreenClass::Working, t(1));
        live.on_screen(ScreenClass::RateLimited { limit: Some(limit.clone()), dialog_open: false }, t(2));
        assert_eq!(live.state().activity, Activity::RateLimited, "a turn that ends in a limit");
        assert_eq!(live.state().source, Source::Screen, "a hint for the display, not evidence");
        let mut dialog = ActivityTracker::new(t(0));
        dialog.on_screen(ScreenClass::Working, t(1));
        dialog.on_screen(ScreenClass::RateLimited { limit: Some(limit.clone()), dialog_open: true }, t(2));
        assert_eq!(
            (dialog.state().activity, dialog.state().source),
            (Activity::RateLimited, Source::Dialog),
            "the dialog the CLI opens at the end of a turn is a hit"
        );
        let mut fresh = ActivityTracker::new(t(0));
        fresh.on_screen(ScreenClass::RateLimited { limit: Some(limit), dialog_open: true }, t(1));
        assert_eq!(fresh.state().activity, Activity::Starting, "no turn ran: a dialog in view is no new hit");
    }

    /// A session that once hit a limit (the line is in its history) waits for an approval; the
    /// phone resizes the terminal and the old line comes into view.
    #[test]
    fn an_old_limit_reflowed_into_view_during_an_approval_is_nothing() {
        let old = RateLimit {
            window: RateLimitWindow::Session,
            resets_at: None,
            message: "You've hit your session limit · resets 3am (UTC)".into(),
        };
        let mut tr = ActivityTracker::new(t(0));
        tr.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(1));
        tr.on_screen(ScreenClass::Working, t(1));
        tr.on_hook(
            &HookEvent::PermissionRequest { tool: "Write".into(), input: serde_json::Value::Null, suggestions: vec![] },
            Some("p1"),
            t(2),
        );
        tr.on_screen(ScreenClass::NeedsApproval { tool: "Write".into(), question: "?".into() }, t(2));
        let before = tr.state().clone();
        for dialog_open in [false, true] {
            assert!(!tr.on_screen(ScreenClass::RateLimited { limit: Some(old.clone()), dialog_open }, t(3)));
            tr.on_screen(ScreenClass::NeedsApproval { tool: "Write".into(), question: "?".into() }, t(4));
        }
        assert_eq!(*tr.state(), before, "still waiting for the approval, no limit");
    }

    #[test]
    fn with_hooks_the_screen_adds_strong_states_turn_edges_and_closes_dialogs() {
        let mut tr = ActivityTracker::new(t(0));
        tr.on_screen(ScreenClass::Idle, t(1));
        tr.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(2));
        assert_eq!(tr.state().activity, Activity::Working);
        tr.on_hook(
            &HookEvent::PermissionRequest { tool: "Write".into(), input: serde_json::Value::Null, suggestions: vec![] },
            Some("p"),
            t(3),
        );
        tr.on_screen(ScreenClass::NeedsApproval { tool: "Write".into(), question: "?".into() }, t(3));
        tr.on_screen(ScreenClass::Working, t(4));
        assert_eq!(tr.state().activity, Activity::Working, "answered by keys: the dialog closed");
        tr.on_screen(ScreenClass::Idle, t(5));
        assert_eq!(tr.state().activity, Activity::Idle, "the turn ended on screen without a Stop hook");
        tr.on_screen(ScreenClass::RateLimited { limit: None, dialog_open: true }, t(6));
        assert_eq!(tr.state().activity, Activity::RateLimited);
        tr.on_screen(ScreenClass::Idle, t(7));
        assert_eq!(tr.state().activity, Activity::RateLimited, "closing the limit dialog does not end the limit");
        tr.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(8));
        assert_eq!(tr.state().activity, Activity::Working, "a new turn does");
    }

    #[test]
    fn the_prompt_box_still_on_screen_after_the_prompt_hook_is_not_the_turns_end() {
        let mut tr = ActivityTracker::new(t(0));
        tr.on_screen(ScreenClass::Idle, t(1));
        tr.on_hook(&HookEvent::SessionStart { session_id: None }, None, t(1));
        tr.on_hook(&HookEvent::UserPromptSubmit { prompt: Some("hi".into()) }, None, t(2));
        // The CLI redraws before it sends its request: the box the prompt was typed into.
        tr.on_screen(ScreenClass::Unknown, t(2));
        assert!(!tr.on_screen(ScreenClass::Idle, t(2)));
        assert_eq!((tr.state().activity, tr.state().source), (Activity::Working, Source::Hook));
        // Once the screen has drawn the turn, its idle prompt is the turn's end again (an
        // interrupt fires no Stop hook).
        tr.on_screen(ScreenClass::Working, t(3));
        assert!(tr.on_screen(ScreenClass::Idle, t(4)));
        assert_eq!((tr.state().activity, tr.state().source), (Activity::Idle, Source::Screen));

        // A spinner already on screen when the hook arrives is the turn drawn.
        let mut ahead = ActivityTracker::new(t(0));
        ahead.on_hook(&HookEvent::SessionStart { session_id: None }, None, t(1));
        ahead.on_screen(ScreenClass::Working, t(2));
        ahead.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(2));
        ahead.on_screen(ScreenClass::Idle, t(3));
        assert_eq!(ahead.state().activity, Activity::Idle);

        // So is a later hook of the turn (a tool ran): the idle prompt after it is believed.
        let mut tool = ActivityTracker::new(t(0));
        tool.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(1));
        tool.on_hook(&HookEvent::PostToolUse, None, t(2));
        tool.on_screen(ScreenClass::Idle, t(3));
        assert_eq!(tool.state().activity, Activity::Idle);
    }

    #[test]
    fn an_idle_prompt_between_an_allowed_request_and_its_tool_is_not_the_turns_end() {
        let mut tr = ActivityTracker::new(t(0));
        tr.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(1));
        tr.on_hook(
            &HookEvent::PermissionRequest { tool: "Bash".into(), input: serde_json::Value::Null, suggestions: vec![] },
            Some("p1"),
            t(2),
        );
        tr.on_screen(ScreenClass::NeedsApproval { tool: "Bash".into(), question: "?".into() }, t(2));
        assert!(tr.answered("p1", true, t(3)));
        tr.on_screen(ScreenClass::Idle, t(3));
        assert_eq!(tr.state().activity, Activity::Working, "the allowed tool is about to run");
        tr.on_hook(&HookEvent::PostToolUse, None, t(4));
        tr.on_screen(ScreenClass::Working, t(4));
        tr.on_screen(ScreenClass::Idle, t(5));
        assert_eq!(tr.state().activity, Activity::Idle, "after the tool, the screen's turn end counts again");

        // A denied request: the screen's idle prompt is believed (the CLI may wait for the person).
        let mut denied = ActivityTracker::new(t(0));
        denied.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(1));
        denied.on_hook(
            &HookEvent::PermissionRequest { tool: "Bash".into(), input: serde_json::Value::Null, suggestions: vec![] },
            Some("p2"),
            t(2),
        );
        assert!(denied.answered("p2", false, t(3)));
        denied.on_screen(ScreenClass::Idle, t(4));
        assert_eq!(denied.state().activity, Activity::Idle);
    }

    #[test]
    fn the_screen_does_not_downgrade_a_hooks_word_on_the_same_activity() {
        let mut tr = ActivityTracker::new(t(0));
        tr.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(1));
        tr.on_screen(ScreenClass::Working, t(2));
        tr.on_hook(&HookEvent::Stop, None, t(3));
        assert_eq!((tr.state().activity, tr.state().source), (Activity::Idle, Source::Hook));
        tr.on_screen(ScreenClass::Idle, t(4));
        assert_eq!((tr.state().activity, tr.state().source), (Activity::Idle, Source::Hook), "still the hook's Idle");
        assert_eq!(tr.state().since, t(3));
    }

    #[test]
    fn the_status_line_reports_usage_without_touching_the_turn() {
        let mut tr = ActivityTracker::new(t(0));
        tr.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(1));
        let input: crate::statusline::StatusInput = serde_json::from_str(
            r#"{"rate_limits":{"five_hour":{"used_percentage":85}},"cost":{"total_cost_usd":0.5}}"#,
        )
        .expect("parses");
        assert!(tr.on_hook(&HookEvent::StatusLine(input.clone()), None, t(2)));
        assert_eq!(tr.state().activity, Activity::Working, "a refresh of the status line is no turn event");
        assert_eq!(tr.state().since, t(1));
        let plan = tr.state().report.as_ref().and_then(|r| r.plan).expect("plan");
        assert_eq!(plan.five_hour.map(|w| w.used_percent), Some(85.0));
        assert!(!tr.on_hook(&HookEvent::StatusLine(input), None, t(3)), "the same figures later are no change");
        assert_eq!(tr.state().report.as_ref().and_then(|r| r.plan).map(|p| p.observed_at), Some(t(2)));
    }

    #[test]
    fn a_refused_call_is_recorded_and_a_question_blocks_typing() {
        let mut tr = ActivityTracker::new(t(0));
        tr.on_hook(&HookEvent::UserPromptSubmit { prompt: None }, None, t(1));
        tr.on_hook(&HookEvent::PermissionDenied { tool: "Bash".into(), reason: "risky".into() }, None, t(2));
        assert_eq!(tr.state().activity, Activity::Working);
        assert_eq!(tr.state().last_denial, Some(Denial { tool: "Bash".into(), reason: "risky".into(), at: t(2) }));
        tr.on_hook(
            &HookEvent::Notification { kind: "agent_needs_input".into(), message: "Claude has a question".into() },
            None,
            t(3),
        );
        assert_eq!(tr.state().activity, Activity::NeedsApproval);
        let approval = tr.state().approval.clone().expect("a dialog is open");
        assert_eq!((approval.tool.as_str(), approval.answerable), ("question", false));
    }

    #[test]
    fn exit_is_final() {
        let mut tr = ActivityTracker::new(t(0));
        assert!(tr.on_exit(3, t(1)));
        assert_eq!((tr.state().activity, tr.state().exit_code), (Activity::Exited, Some(3)));
        assert!(!tr.on_hook(&HookEvent::Stop, None, t(2)));
        assert!(!tr.on_screen(ScreenClass::Idle, t(2)));
        assert!(!tr.on_exit(0, t(3)));
    }

    #[test]
    fn notification_names_the_tool() {
        assert_eq!(tool_from_notification("Claude needs your permission to use Bash"), "Bash");
        assert_eq!(tool_from_notification("something else"), "unknown");
    }
}
