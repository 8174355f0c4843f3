//! The reconcile decision: session + accounts + observed worker + now → a [`Plan`].

use chrono::{DateTime, Duration, Utc};
use cockpit_api::{
    Activity, ClaudeSessionSpec, ClaudeSessionStatus, OneshotSummary, PlanUtilization, RateLimit, RateLimitWindow,
    RotationPolicy, SessionMode, SessionPhase, WorkerState,
};

use super::accounts::{AccountInfo, Choice, choose_account};
use super::conditions::{self, ACCOUNT_ASSIGNED, RATE_LIMITED, READY};

/// The session as the decision sees it.
#[derive(Clone, Copy, Debug)]
pub struct SessionInput<'a> {
    /// What was asked for.
    pub spec: &'a ClaudeSessionSpec,
    /// What is known so far.
    pub status: &'a ClaudeSessionStatus,
    /// `metadata.generation` (Kubernetes), if any.
    pub generation: Option<i64>,
    /// The person asked to stop the session (DELETE, or the object is being deleted).
    pub stop_requested: bool,
    /// One more worker may start (the concurrent-session limit is not reached).
    pub capacity_available: bool,
}

/// What the runtime observes of the session's worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Observed {
    /// No worker exists for the session.
    NoWorker,
    /// A worker was started on `account` and does not report yet.
    Starting {
        /// Its account.
        account: String,
    },
    /// A worker on `account` reports `state`.
    Running {
        /// Its account.
        account: String,
        /// What it reports.
        state: WorkerState,
    },
    /// The worker on `account` ended.
    Exited {
        /// Its account.
        account: String,
        /// The CLI's exit code, when known.
        code: Option<i32>,
        /// Its last reported state, when known.
        state: Option<WorkerState>,
    },
    /// The worker could not be started.
    StartFailed {
        /// Its account.
        account: String,
        /// Why.
        message: String,
    },
}

impl Observed {
    fn account(&self) -> Option<&str> {
        match self {
            Observed::NoWorker => None,
            Observed::Starting { account }
            | Observed::Running { account, .. }
            | Observed::Exited { account, .. }
            | Observed::StartFailed { account, .. } => Some(account),
        }
    }

    fn is_alive(&self) -> bool {
        matches!(self, Observed::Starting { .. } | Observed::Running { .. })
    }
}

/// A side effect for the runtime to carry out, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Start a worker for the session on `account`.
    StartWorker {
        /// The account to run under.
        account: String,
        /// The Claude session id to resume (`--resume`); none starts a new conversation.
        resume: Option<cockpit_api::ids::ConversationId>,
        /// The prompt to start with (the first message, the one-shot task, or the prompt that
        /// hit a usage limit).
        prompt: Option<String>,
    },
    /// Stop the session's worker.
    StopWorker {
        /// Why (for the log and the events).
        reason: String,
    },
    /// The account hit a usage limit: do not choose it before `until`.
    MarkAccountLimited {
        /// The account.
        account: String,
        /// When its limit resets.
        until: DateTime<Utc>,
        /// Which window.
        window: RateLimitWindow,
    },
    /// Record the account's utilization as the worker's CLI reported it.
    RecordUtilization {
        /// The account.
        account: String,
        /// Its windows.
        utilization: PlanUtilization,
    },
    /// Add a finished run's usage to the account.
    RecordUsage {
        /// The account.
        account: String,
        /// Input tokens.
        input_tokens: u64,
        /// Output tokens.
        output_tokens: u64,
        /// Cost in US dollars.
        cost_usd: f64,
    },
}

/// A notable transition, for Kubernetes Events and the session's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// CamelCase reason, e.g. `Rotated`.
    pub reason: String,
    /// What happened.
    pub message: String,
    /// When the wait it tells of ends (an event about waiting for a usage-limit reset).
    pub until: Option<DateTime<Utc>>,
}

impl Event {
    /// The event as kept in a session's history: `{reason, message, until?}`.
    pub fn data(&self) -> serde_json::Value {
        let mut data = serde_json::json!({ "reason": self.reason, "message": self.message });
        if let Some(until) = self.until {
            data["until"] = serde_json::Value::String(until.to_rfc3339());
        }
        data
    }
}

/// What to do: the new status, the side effects, and when to look again.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The status to record.
    pub status: ClaudeSessionStatus,
    /// Side effects, in order.
    pub actions: Vec<Action>,
    /// Reconcile again at this time even if nothing changes (a reset time).
    pub requeue_at: Option<DateTime<Utc>>,
    /// Notable transitions.
    pub events: Vec<Event>,
}

/// How long an account is set aside when a limit says no reset time.
pub fn default_limit_duration(window: RateLimitWindow) -> Duration {
    match window {
        RateLimitWindow::Session => Duration::hours(5),
        RateLimitWindow::Weekly | RateLimitWindow::Opus | RateLimitWindow::Sonnet => Duration::hours(24),
        RateLimitWindow::Other => Duration::hours(1),
    }
}

struct Ctx<'a> {
    input: SessionInput<'a>,
    accounts: &'a [AccountInfo],
    now: DateTime<Utc>,
    plan: Plan,
}

/// Decides what to do for one session.
pub fn reconcile(input: SessionInput<'_>, accounts: &[AccountInfo], observed: &Observed, now: DateTime<Utc>) -> Plan {
    let mut status = input.status.clone();
    if input.generation.is_some() {
        status.observed_generation = input.generation;
    }
    let mut cx =
        Ctx { input, accounts, now, plan: Plan { status, actions: Vec::new(), requeue_at: None, events: Vec::new() } };

    if cx.plan.status.phase.is_terminal() {
        if observed.is_alive() {
            cx.stop("the session has ended");
        }
        return cx.plan;
    }
    if input.stop_requested {
        if observed.is_alive() {
            cx.stop("stop requested");
        }
        cx.finish(SessionPhase::Stopped, "Stopped", "stopped on request".to_owned());
        return cx.plan;
    }

    // A worker on another account than the assigned one is a leftover of a rotation.
    let assigned = cx.plan.status.account.clone();
    let stale = matches!((&assigned, observed.account()), (Some(a), Some(o)) if a != o);
    if stale {
        if observed.is_alive() {
            cx.stop("a worker on the previous account is still running");
        }
        cx.start_or_wait();
        return cx.plan;
    }

    // Every account was limited and this worker was told to stop: whatever it still reports
    // while it goes, the session waits for a reset.
    let rotating = input.spec.rotation == RotationPolicy::Auto && input.spec.account_ref.is_none();
    if input.status.phase == SessionPhase::RateLimited && rotating && observed.is_alive() {
        cx.stop("waiting for a usage-limit reset");
        cx.start_or_wait();
        return cx.plan;
    }

    match observed {
        Observed::NoWorker => cx.start_or_wait(),
        Observed::Starting { account } => {
            cx.plan.status.phase = SessionPhase::Starting;
            cx.plan.status.account = Some(account.clone());
        }
        Observed::StartFailed { message, .. } => {
            cx.plan.status.activity = None;
            cx.finish(SessionPhase::Failed, "StartFailed", format!("the worker could not start: {message}"));
        }
        Observed::Running { account, state } if state.activity == Activity::Exited => {
            cx.exited(account, state.exit_code, Some(state));
        }
        Observed::Running { account, state } => cx.running(account, state),
        Observed::Exited { account, code, state } => cx.exited(account, *code, state.as_ref()),
    }
    cx.plan
}

impl Ctx<'_> {
    fn spec(&self) -> &ClaudeSessionSpec {
        self.input.spec
    }

    fn event(&mut self, reason: &str, message: String) {
        self.plan.events.push(Event { reason: reason.to_owned(), message, until: None });
    }

    fn condition(&mut self, type_: &str, status: bool, reason: &str, message: &str) {
        conditions::set(
            &mut self.plan.status.conditions,
            type_,
            status,
            reason,
            message,
            self.input.generation,
            self.now,
        );
    }

    fn stop(&mut self, reason: &str) {
        self.plan.actions.push(Action::StopWorker { reason: reason.to_owned() });
    }

    fn requeue(&mut self, at: DateTime<Utc>) {
        self.plan.requeue_at = Some(self.plan.requeue_at.map_or(at, |t| t.min(at)));
    }

    fn finish(&mut self, phase: SessionPhase, reason: &str, message: String) {
        let st = &mut self.plan.status;
        st.phase = phase;
        st.finished_at = Some(self.now);
        st.message = Some(message.clone());
        self.condition(READY, false, reason, &message);
        self.condition(RATE_LIMITED, false, reason, "");
        self.event(reason, message);
    }

    /// The prompt a new worker starts with.
    fn start_prompt(&self) -> Option<String> {
        if self.spec().mode == SessionMode::Oneshot {
            return self.spec().prompt.clone();
        }
        if self.plan.status.pending_prompt.is_some() {
            return self.plan.status.pending_prompt.clone();
        }
        let never_started = self.plan.status.started_at.is_none() && self.plan.status.claude_session_id.is_none();
        if never_started { self.spec().prompt.clone() } else { None }
    }

    /// No worker: start one on the best account, or say why not.
    fn start_or_wait(&mut self) {
        if !self.input.capacity_available {
            self.plan.status.phase = SessionPhase::Pending;
            self.plan.status.message = Some("waiting for a free slot: the concurrent-session limit is reached".into());
            return;
        }
        match choose_account(self.accounts, self.spec().account_ref.as_deref(), None, self.now) {
            Choice::Account(account) => self.start_on(account, false),
            Choice::AllLimited { until } => self.wait_for_reset(until),
            Choice::AllBusy => {
                self.plan.status.phase = SessionPhase::Pending;
                self.plan.status.message = Some("every account runs as many sessions as it may".into());
            }
            Choice::NoAccount { reason } => {
                self.plan.status.phase = SessionPhase::Pending;
                self.plan.status.message = Some(format!("cannot start: {reason}"));
                self.condition(ACCOUNT_ASSIGNED, false, "NoAccount", &reason);
            }
        }
    }

    fn start_on(&mut self, account: String, rotation: bool) {
        let resume = self.plan.status.claude_session_id.clone().or_else(|| self.spec().resume.clone());
        let prompt = self.start_prompt();
        self.plan.actions.push(Action::StartWorker { account: account.clone(), resume, prompt });
        let st = &mut self.plan.status;
        st.phase = SessionPhase::Starting;
        st.account = Some(account.clone());
        st.started_at = Some(self.now);
        st.pending_prompt = None;
        st.exit_code = None;
        st.activity = Some(Activity::Starting);
        st.cost_before_worker = st.cost;
        let message = if rotation {
            format!("continuing on account {account}")
        } else {
            format!("starting on account {account}")
        };
        st.message = Some(message.clone());
        self.condition(ACCOUNT_ASSIGNED, true, "Assigned", &message);
        self.condition(RATE_LIMITED, false, "Assigned", "");
        if !rotation {
            self.event("Starting", message);
        }
    }

    fn wait_for_reset(&mut self, until: DateTime<Utc>) {
        let message = format!("every eligible account is rate limited; resuming at {}", until.to_rfc3339());
        // The event that led here tells the person until when.
        if let Some(event) = self.plan.events.last_mut().filter(|e| e.reason == "RateLimited") {
            event.until = Some(until);
        }
        self.plan.status.phase = SessionPhase::RateLimited;
        self.plan.status.message = Some(message.clone());
        self.condition(RATE_LIMITED, true, "AllAccountsLimited", &message);
        self.condition(READY, false, "RateLimited", &message);
        self.requeue(until);
    }

    fn running(&mut self, account: &str, state: &WorkerState) {
        let st = &mut self.plan.status;
        st.phase = SessionPhase::Running;
        st.activity = Some(state.activity);
        st.account = Some(account.to_owned());
        if state.claude_session_id.is_some() {
            st.claude_session_id = state.claude_session_id.clone();
        }
        st.message = None;
        self.condition(ACCOUNT_ASSIGNED, true, "Assigned", account);
        self.observe_report(account, state);
        match state.activity {
            Activity::RateLimited if state.limit_confirmed() => {
                self.limit_hit(account, state.rate_limit.clone(), state.last_prompt.clone());
                if self.plan.actions.iter().any(|a| matches!(a, Action::StopWorker { .. })) {
                    self.record_worker_cost(account, Some(state));
                }
            }
            Activity::RateLimited => {
                // Screen text alone: shown, never acted on.
                self.plan.status.message =
                    Some("the screen shows a usage limit; nothing is done until the CLI reports one".to_owned());
                self.condition(READY, true, "Running", "");
            }
            Activity::NeedsLogin => {
                let message = format!("account {account}'s credentials were refused");
                self.plan.status.message = Some(message.clone());
                self.condition(READY, false, "NeedsLogin", &message);
            }
            _ => {
                self.condition(READY, true, "Running", "");
                self.condition(RATE_LIMITED, false, "Running", "");
                // The CLI's own word that the turn is over (its Stop hook, or the idle prompt it
                // notified): the one moment a conversation may move early.
                if state.activity == Activity::Idle && state.source == "hook" {
                    self.rotate_early(account, state);
                }
            }
        }
    }

    /// What the worker's status line and hooks said besides the activity: the account's
    /// utilization, the session's cost, a call the CLI refused by itself.
    fn observe_report(&mut self, account: &str, state: &WorkerState) {
        let report = state.report.as_ref();
        if let Some(plan) = report.and_then(|r| r.plan) {
            let stored = self.accounts.iter().find(|a| a.name == account).and_then(|a| a.utilization);
            if stored.is_none_or(|s| !s.same_windows(&plan) && s.observed_at <= plan.observed_at) {
                self.plan.actions.push(Action::RecordUtilization { account: account.to_owned(), utilization: plan });
            }
        }
        if let Some(cost) = report.and_then(|r| r.cost) {
            let st = &mut self.plan.status;
            st.cost = Some(st.cost_before_worker.unwrap_or_default().plus(cost));
        }
        if state.last_message.is_some() {
            self.plan.status.last_message.clone_from(&state.last_message);
        }
        if let Some(denial) = state.last_denial.as_ref().filter(|d| self.plan.status.last_denial.as_ref() != Some(*d)) {
            self.plan.status.last_denial = Some(denial.clone());
            self.event("PermissionDenied", format!("the CLI refused {}: {}", denial.tool, denial.reason));
        }
    }

    /// The worker's cost so far, added to the account it ran under (it is about to stop).
    fn record_worker_cost(&mut self, account: &str, state: Option<&WorkerState>) {
        if self.spec().mode == SessionMode::Oneshot {
            return; // a one-shot run's result carries its usage
        }
        if let Some(cost) = state.and_then(|s| s.report.as_ref()).and_then(|r| r.cost) {
            self.plan.actions.push(Action::RecordUsage {
                account: account.to_owned(),
                input_tokens: cost.input_tokens,
                output_tokens: cost.output_tokens,
                cost_usd: cost.cost_usd,
            });
        }
    }

    /// Proactive rotation: the turn is over and the account has reached its `rotateAt`, so
    /// the conversation moves to an account below its own threshold before the limit hits.
    fn rotate_early(&mut self, account: &str, state: &WorkerState) {
        if self.spec().rotation != RotationPolicy::Auto || self.spec().account_ref.is_some() {
            return;
        }
        let Some(info) = self.accounts.iter().find(|a| a.name == account) else { return };
        let fresh = state.report.as_ref().and_then(|r| r.plan);
        let Some((used, window)) = info.over_rotate_at(fresh.as_ref(), self.now) else { return };
        let Choice::Account(next) = choose_account(self.accounts, None, Some(account), self.now) else { return };
        let next_over = self.accounts.iter().find(|a| a.name == next).and_then(|a| a.over_rotate_at(None, self.now));
        if next_over.is_some() {
            return; // every other account is as used: stay until the limit itself
        }
        let threshold = info.rotate_at.unwrap_or_default();
        self.stop(&format!("account {account} reached {used:.0}% of its {window} window"));
        self.record_worker_cost(account, Some(state));
        self.plan.status.rotations += 1;
        self.event(
            "Rotated",
            format!(
                "account {account} is at {used:.0}% of its {window} limit (rotateAt {threshold}%); continuing on {next}"
            ),
        );
        self.start_on(next, true);
    }

    /// The worker reports a usage limit: set the account aside and move on (or wait).
    fn limit_hit(&mut self, account: &str, limit: Option<RateLimit>, last_prompt: Option<String>) {
        let limit = limit.unwrap_or(RateLimit {
            window: RateLimitWindow::Other,
            resets_at: None,
            message: "usage limit reached".to_owned(),
        });
        let until = limit
            .resets_at
            .filter(|t| *t > self.now)
            .unwrap_or_else(|| self.now + default_limit_duration(limit.window));
        // The same limit seen again (rotation off: the worker keeps reporting it) is no new hit.
        let new_hit = self.input.status.rate_limit.as_ref() != Some(&limit)
            || self.input.status.phase != SessionPhase::RateLimited;
        if new_hit {
            self.plan.actions.push(Action::MarkAccountLimited {
                account: account.to_owned(),
                until,
                window: limit.window,
            });
        }
        self.plan.status.rate_limit = Some(limit.clone());
        if last_prompt.is_some() {
            self.plan.status.pending_prompt = last_prompt;
        }
        let rotate = self.spec().rotation == RotationPolicy::Auto && self.spec().account_ref.is_none();
        if !rotate {
            // Rotation off (or a pinned account): the worker stays; the person continues after the reset.
            if until > self.now {
                let message = format!("{} (waiting: rotation is off)", limit.message);
                self.plan.status.phase = SessionPhase::RateLimited;
                self.plan.status.message = Some(message.clone());
                self.condition(RATE_LIMITED, true, "UsageLimit", &message);
                self.requeue(until);
            }
            return;
        }
        // Choose with this account set aside until its reset.
        let accounts: Vec<AccountInfo> = self
            .accounts
            .iter()
            .map(|a| {
                let mut a = a.clone();
                if a.name == account {
                    a.limited_until = Some(a.limited_until.map_or(until, |t| t.max(until)));
                }
                a
            })
            .collect();
        self.stop(&format!("account {account} hit its usage limit"));
        match choose_account(&accounts, None, Some(account), self.now) {
            Choice::Account(next) => {
                self.plan.status.rotations += 1;
                let message =
                    format!("account {account} hit its {} limit; continuing on {next}", window_name(limit.window));
                self.event("Rotated", message);
                self.start_on(next, true);
            }
            Choice::AllLimited { until: other } => {
                self.event(
                    "RateLimited",
                    format!("account {account} hit its usage limit and every other account is limited"),
                );
                self.wait_for_reset(until.min(other));
            }
            Choice::AllBusy | Choice::NoAccount { .. } => {
                self.event(
                    "RateLimited",
                    format!("account {account} hit its usage limit and no other account is free"),
                );
                self.wait_for_reset(until);
            }
        }
    }

    fn exited(&mut self, account: &str, code: Option<i32>, state: Option<&WorkerState>) {
        // A worker stopped because every account is limited: wait for the reset, then resume.
        if self.input.status.phase == SessionPhase::RateLimited {
            self.plan.status.activity = Some(Activity::Exited);
            self.start_or_wait();
            return;
        }
        self.plan.status.exit_code = code;
        self.plan.status.activity = Some(Activity::Exited);
        if let Some(id) = state.and_then(|s| s.claude_session_id.clone()) {
            self.plan.status.claude_session_id = Some(id);
        }
        if self.spec().mode == SessionMode::Oneshot {
            let result = state.and_then(|s| s.oneshot_result.clone());
            if let Some(result) = result {
                if !result.session_id.is_empty() {
                    self.plan.status.claude_session_id = Some(result.session_id.clone());
                }
                self.plan.actions.push(Action::RecordUsage {
                    account: account.to_owned(),
                    input_tokens: result.tokens.input_tokens,
                    output_tokens: result.tokens.output_tokens,
                    cost_usd: result.cost_usd,
                });
                if result.rate_limit.is_some() {
                    self.plan.actions.retain(|a| !matches!(a, Action::StopWorker { .. }));
                    self.limit_hit(account, result.rate_limit.clone(), None);
                    // The worker is gone already: nothing to stop.
                    self.plan.actions.retain(|a| !matches!(a, Action::StopWorker { .. }));
                    return;
                }
                self.plan.status.result = Some(OneshotSummary {
                    text: result.text.clone(),
                    is_error: result.is_error,
                    cost_usd: result.cost_usd,
                    tokens: result.tokens,
                });
                if result.is_error || code.is_some_and(|c| c != 0) {
                    self.finish(SessionPhase::Failed, "Failed", format!("the run failed: {}", result.text));
                } else {
                    self.finish(SessionPhase::Succeeded, "Succeeded", "the run finished".to_owned());
                }
                return;
            }
        }
        if let Some(state) = state {
            self.observe_report(account, state);
        }
        self.record_worker_cost(account, state);
        match code {
            Some(0) => self.finish(SessionPhase::Succeeded, "Exited", "the CLI exited".to_owned()),
            Some(code) => self.finish(SessionPhase::Failed, "Failed", format!("the CLI exited with code {code}")),
            None => self.finish(SessionPhase::Failed, "WorkerLost", "the worker ended unexpectedly".to_owned()),
        }
    }
}

fn window_name(window: RateLimitWindow) -> &'static str {
    match window {
        RateLimitWindow::Session => "session",
        RateLimitWindow::Weekly => "weekly",
        RateLimitWindow::Opus => "Opus",
        RateLimitWindow::Sonnet => "Sonnet",
        RateLimitWindow::Other => "usage",
    }
}
