//! The reconcile decisions, tested directly as plain functions.

use chrono::{DateTime, Duration, TimeZone, Utc};
use cockpit_api::oneshot::OneshotResult;
use cockpit_api::{
    Activity, ClaudeSessionSpec, ClaudeSessionStatus, Denial, PlanUtilization, RateLimit, RateLimitWindow,
    RotationPolicy, SessionCost, SessionMode, SessionPhase, StatusReport, TokenUsage, UsageWindow, WorkerState,
};
use cockpit_operator::reconcile::decide::default_limit_duration;
use cockpit_operator::reconcile::{AccountInfo, Action, Observed, Plan, SessionInput, reconcile};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).single().expect("valid")
}

fn spec() -> ClaudeSessionSpec {
    serde_json::from_value(serde_json::json!({"repo": "web", "prompt": "fix the bug"})).expect("spec")
}

fn acct(name: &str, priority: i32) -> AccountInfo {
    AccountInfo {
        name: name.into(),
        priority,
        max_sessions: None,
        limited_until: None,
        active_sessions: 0,
        rotate_at: None,
        utilization: None,
    }
}

fn accounts() -> Vec<AccountInfo> {
    vec![acct("a", 10), acct("b", 5), acct("c", 1)]
}

fn worker(activity: Activity) -> WorkerState {
    WorkerState {
        activity,
        claude_session_id: Some("11111111-2222-3333-4444-555555555555".into()),
        end_offset: 10,
        last_prompt: Some("please do the thing".into()),
        source: "hook".into(),
        ..WorkerState::starting(SessionMode::Interactive, 120, 40, now())
    }
}

/// The worker observed running on account `a`.
fn on_a(state: WorkerState) -> Observed {
    Observed::Running { account: "a".into(), state }
}

/// The worker on `a` hit its session limit, which resets in two hours.
fn limit_hit() -> Observed {
    on_a(limited(RateLimitWindow::Session, Some(Duration::hours(2))))
}

fn limited(window: RateLimitWindow, resets_in: Option<Duration>) -> WorkerState {
    let mut w = worker(Activity::RateLimited);
    w.rate_limit = Some(RateLimit {
        window,
        resets_at: resets_in.map(|d| now() + d),
        message: "You've hit your session limit · resets 2pm (UTC)".into(),
    });
    w
}

fn run(spec: &ClaudeSessionSpec, status: &ClaudeSessionStatus, accounts: &[AccountInfo], observed: Observed) -> Plan {
    let input = SessionInput { spec, status, generation: Some(3), stop_requested: false, capacity_available: true };
    reconcile(input, accounts, &observed, now())
}

/// [`run`] of the plain spec with the session in `phase` on `a`, and the usual accounts.
fn run_on_a(phase: SessionPhase, observed: Observed) -> Plan {
    run(&spec(), &status_on("a", phase), &accounts(), observed)
}

fn status_on(account: &str, phase: SessionPhase) -> ClaudeSessionStatus {
    ClaudeSessionStatus {
        phase,
        account: Some(account.into()),
        started_at: Some(now() - Duration::minutes(10)),
        claude_session_id: Some("11111111-2222-3333-4444-555555555555".into()),
        ..ClaudeSessionStatus::default()
    }
}

fn condition(plan: &Plan, type_: &str) -> Option<String> {
    plan.status.conditions.iter().find(|c| c.type_ == type_).map(|c| c.status.clone())
}

#[test]
fn a_new_session_starts_on_the_best_account_with_its_first_prompt() {
    let plan = run(&spec(), &ClaudeSessionStatus::default(), &accounts(), Observed::NoWorker);
    assert_eq!(
        plan.actions,
        [Action::StartWorker { account: "a".into(), resume: None, prompt: Some("fix the bug".into()) }]
    );
    assert_eq!(plan.status.phase, SessionPhase::Starting);
    assert_eq!(plan.status.account.as_deref(), Some("a"));
    assert_eq!(plan.status.observed_generation, Some(3));
    assert_eq!(condition(&plan, "AccountAssigned").as_deref(), Some("True"));
    assert_eq!(plan.events[0].reason, "Starting");
}

#[test]
fn a_spec_resume_id_is_resumed() {
    let mut s = spec();
    s.resume = Some("99999999-2222-3333-4444-555555555555".into());
    let plan = run(&s, &ClaudeSessionStatus::default(), &accounts(), Observed::NoWorker);
    assert!(matches!(&plan.actions[0], Action::StartWorker { resume: Some(id), .. } if id.starts_with("9999")));
}

#[test]
fn account_ref_is_honoured() {
    let mut s = spec();
    s.account_ref = Some("c".into());
    let plan = run(&s, &ClaudeSessionStatus::default(), &accounts(), Observed::NoWorker);
    assert!(matches!(&plan.actions[0], Action::StartWorker { account, .. } if account == "c"));
    s.account_ref = Some("ghost".into());
    let plan = run(&s, &ClaudeSessionStatus::default(), &accounts(), Observed::NoWorker);
    assert!(plan.actions.is_empty());
    assert_eq!(plan.status.phase, SessionPhase::Pending);
    assert!(plan.status.message.as_deref().is_some_and(|m| m.contains("ghost")));
}

#[test]
fn no_capacity_or_no_account_keeps_it_pending() {
    let input = SessionInput {
        spec: &spec(),
        status: &ClaudeSessionStatus::default(),
        generation: None,
        stop_requested: false,
        capacity_available: false,
    };
    let plan = reconcile(input, &accounts(), &Observed::NoWorker, now());
    assert!(plan.actions.is_empty());
    assert_eq!(plan.status.phase, SessionPhase::Pending);
    let plan = run(&spec(), &ClaudeSessionStatus::default(), &[], Observed::NoWorker);
    assert!(plan.actions.is_empty());
    assert!(plan.status.message.as_deref().is_some_and(|m| m.contains("no account")));
}

#[test]
fn all_accounts_limited_waits_for_the_earliest_reset() {
    let mut accts = accounts();
    for (i, a) in accts.iter_mut().enumerate() {
        a.limited_until = Some(now() + Duration::hours(3 - i as i64));
    }
    let plan = run(&spec(), &ClaudeSessionStatus::default(), &accts, Observed::NoWorker);
    assert!(plan.actions.is_empty());
    assert_eq!(plan.status.phase, SessionPhase::RateLimited);
    assert_eq!(plan.requeue_at, Some(now() + Duration::hours(1)));
    assert_eq!(condition(&plan, "RateLimited").as_deref(), Some("True"));
}

#[test]
fn after_the_reset_the_waiting_session_resumes_its_conversation_with_the_pending_prompt() {
    let mut status = status_on("a", SessionPhase::RateLimited);
    status.pending_prompt = Some("please do the thing".into());
    let mut accts = accounts();
    accts[0].limited_until = Some(now() - Duration::seconds(1));
    let plan = run(&spec(), &status, &accts, Observed::NoWorker);
    assert_eq!(
        plan.actions,
        [Action::StartWorker {
            account: "a".into(),
            resume: Some("11111111-2222-3333-4444-555555555555".into()),
            prompt: Some("please do the thing".into()),
        }]
    );
    assert_eq!(plan.status.pending_prompt, None);
    assert_eq!(condition(&plan, "RateLimited").as_deref(), Some("False"));
}

#[test]
fn a_running_worker_is_mirrored_into_the_status() {
    let plan = run_on_a(SessionPhase::Starting, on_a(worker(Activity::Working)));
    assert!(plan.actions.is_empty());
    assert_eq!(plan.status.phase, SessionPhase::Running);
    assert_eq!(plan.status.activity, Some(Activity::Working));
    assert_eq!(condition(&plan, "Ready").as_deref(), Some("True"));
    let starting = run_on_a(SessionPhase::Starting, Observed::Starting { account: "a".into() });
    assert_eq!((starting.status.phase, starting.actions.len()), (SessionPhase::Starting, 0));
}

#[test]
fn a_limit_hit_rotates_to_the_next_account_and_resumes_the_conversation() {
    let observed = limit_hit();
    let plan = run_on_a(SessionPhase::Running, observed);
    assert_eq!(
        plan.actions,
        [
            Action::MarkAccountLimited {
                account: "a".into(),
                until: now() + Duration::hours(2),
                window: RateLimitWindow::Session
            },
            Action::StopWorker { reason: "account a hit its usage limit".into() },
            Action::StartWorker {
                account: "b".into(),
                resume: Some("11111111-2222-3333-4444-555555555555".into()),
                prompt: Some("please do the thing".into()),
            },
        ]
    );
    assert_eq!(plan.status.account.as_deref(), Some("b"));
    assert_eq!(plan.status.rotations, 1);
    assert_eq!(plan.status.phase, SessionPhase::Starting);
    assert_eq!(plan.status.rate_limit.as_ref().map(|l| l.window), Some(RateLimitWindow::Session));
    assert!(plan.events.iter().any(|e| e.reason == "Rotated" && e.message.contains("continuing on b")));
}

#[test]
fn a_limit_read_from_the_screen_alone_is_shown_and_never_acted_on() {
    let mut state = limited(RateLimitWindow::Session, Some(Duration::hours(2)));
    state.source = "screen".into();
    let observed = on_a(state.clone());
    let plan = run_on_a(SessionPhase::Running, observed);
    assert!(plan.actions.is_empty(), "no account marked, no worker stopped: {:?}", plan.actions);
    assert_eq!(plan.status.phase, SessionPhase::Running);
    assert_eq!(plan.status.account.as_deref(), Some("a"));
    assert_eq!(plan.status.activity, Some(Activity::RateLimited), "shown as what the screen says");
    assert_eq!(plan.status.rotations, 0);
    for confirmed_by in ["hook", "stream", "dialog"] {
        state.source = confirmed_by.into();
        let observed = on_a(state.clone());
        let plan = run_on_a(SessionPhase::Running, observed);
        assert!(
            matches!(plan.actions.first(), Some(Action::MarkAccountLimited { .. })),
            "{confirmed_by}: {:?}",
            plan.actions
        );
    }
}

#[test]
fn a_limit_without_reset_time_sets_the_account_aside_for_the_window_default() {
    let observed = on_a(limited(RateLimitWindow::Weekly, None));
    let plan = run_on_a(SessionPhase::Running, observed);
    assert!(plan.actions.contains(&Action::MarkAccountLimited {
        account: "a".into(),
        until: now() + default_limit_duration(RateLimitWindow::Weekly),
        window: RateLimitWindow::Weekly
    }));
}

#[test]
fn the_old_worker_of_a_rotation_is_not_a_failure() {
    let status = status_on("b", SessionPhase::Starting);
    let plan =
        run(&spec(), &status, &accounts(), Observed::Exited { account: "a".into(), code: Some(143), state: None });
    assert_ne!(plan.status.phase, SessionPhase::Failed);
    // and a leftover that still runs is stopped
    let plan = run(&spec(), &status, &accounts(), on_a(worker(Activity::Idle)));
    assert!(plan.actions.iter().any(|a| matches!(a, Action::StopWorker { .. })));
}

#[test]
fn a_limit_hit_with_every_other_account_limited_stops_and_waits() {
    let mut accts = accounts();
    accts[1].limited_until = Some(now() + Duration::hours(4));
    accts[2].limited_until = Some(now() + Duration::hours(1));
    let observed = limit_hit();
    let plan = run(&spec(), &status_on("a", SessionPhase::Running), &accts, observed);
    assert!(matches!(plan.actions[0], Action::MarkAccountLimited { .. }));
    assert!(matches!(plan.actions[1], Action::StopWorker { .. }));
    assert_eq!(plan.actions.len(), 2);
    assert_eq!(plan.status.phase, SessionPhase::RateLimited);
    assert_eq!(plan.requeue_at, Some(now() + Duration::hours(1)));
    assert_eq!(plan.status.pending_prompt.as_deref(), Some("please do the thing"));
    // The event (a note in the conversation) says until when.
    let waiting = plan.events.iter().find(|e| e.reason == "RateLimited").expect("a RateLimited event");
    assert_eq!(waiting.until, Some(now() + Duration::hours(1)));
    assert_eq!(waiting.data()["until"], (now() + Duration::hours(1)).to_rfc3339());
    // While it stops, whatever the worker still reports does not end the wait.
    accts[0].limited_until = Some(now() + Duration::hours(2));
    let dying = run(&spec(), &plan.status, &accts, on_a(worker(Activity::Working)));
    assert_eq!(dying.status.phase, SessionPhase::RateLimited);
    assert!(matches!(dying.actions.as_slice(), [Action::StopWorker { .. }]), "{:?}", dying.actions);
    // The stopped worker's exit then is part of the wait, not a failure.
    accts[0].limited_until = Some(now() + Duration::hours(2));
    let plan2 =
        run(&spec(), &plan.status, &accts, Observed::Exited { account: "a".into(), code: Some(143), state: None });
    assert_eq!(plan2.status.phase, SessionPhase::RateLimited);
    assert!(plan2.actions.is_empty());
}

#[test]
fn rotation_off_keeps_the_worker_and_waits() {
    let mut s = spec();
    s.rotation = RotationPolicy::Off;
    let observed = limit_hit();
    let plan = run(&s, &status_on("a", SessionPhase::Running), &accounts(), observed.clone());
    assert_eq!(plan.actions.len(), 1, "only the account is marked: {:?}", plan.actions);
    assert_eq!(plan.status.phase, SessionPhase::RateLimited);
    assert_eq!(plan.requeue_at, Some(now() + Duration::hours(2)));
    // Seen again: the account is not marked twice.
    let again = run(&s, &plan.status, &accounts(), observed);
    assert!(again.actions.is_empty(), "{:?}", again.actions);
}

#[test]
fn a_pinned_account_does_not_rotate() {
    let mut s = spec();
    s.account_ref = Some("a".into());
    let observed = limit_hit();
    let plan = run(&s, &status_on("a", SessionPhase::Running), &accounts(), observed);
    assert!(!plan.actions.iter().any(|a| matches!(a, Action::StartWorker { .. })));
    assert_eq!(plan.status.phase, SessionPhase::RateLimited);
}

#[test]
fn needs_login_is_reported_not_rotated() {
    let plan = run_on_a(SessionPhase::Running, on_a(worker(Activity::NeedsLogin)));
    assert!(plan.actions.is_empty());
    assert_eq!(condition(&plan, "Ready").as_deref(), Some("False"));
    assert!(plan.status.message.as_deref().is_some_and(|m| m.contains("refused")));
}

#[test]
fn exits_end_the_session_with_the_code() {
    let ok = run_on_a(SessionPhase::Running, Observed::Exited { account: "a".into(), code: Some(0), state: None });
    assert_eq!(ok.status.phase, SessionPhase::Succeeded);
    assert!(ok.status.finished_at.is_some());
    let bad = run_on_a(SessionPhase::Running, Observed::Exited { account: "a".into(), code: Some(137), state: None });
    assert_eq!((bad.status.phase, bad.status.exit_code), (SessionPhase::Failed, Some(137)));
    assert!(bad.status.message.as_deref().is_some_and(|m| m.contains("137")));
    let lost = run_on_a(SessionPhase::Running, Observed::Exited { account: "a".into(), code: None, state: None });
    assert_eq!(lost.status.phase, SessionPhase::Failed);
    let mut exited = worker(Activity::Exited);
    exited.exit_code = Some(2);
    let via_state = run_on_a(SessionPhase::Running, on_a(exited));
    assert_eq!(via_state.status.exit_code, Some(2));
    let failed =
        run_on_a(SessionPhase::Starting, Observed::StartFailed { account: "a".into(), message: "no such file".into() });
    assert_eq!(failed.status.phase, SessionPhase::Failed);
}

fn oneshot_spec() -> ClaudeSessionSpec {
    let mut s = spec();
    s.mode = SessionMode::Oneshot;
    s
}

fn oneshot_exit(result: OneshotResult) -> Observed {
    let mut w = worker(Activity::Exited);
    w.mode = SessionMode::Oneshot;
    w.exit_code = result.exit_code;
    w.oneshot_result = Some(result);
    Observed::Exited { account: "a".into(), code: w.exit_code, state: Some(w) }
}

#[test]
fn a_oneshot_result_is_recorded_with_usage() {
    let result = OneshotResult {
        subtype: "success".into(),
        text: "Done".into(),
        cost_usd: 0.25,
        tokens: TokenUsage { input_tokens: 100, output_tokens: 20, ..TokenUsage::default() },
        session_id: "22222222-2222-3333-4444-555555555555".into(),
        exit_code: Some(0),
        ..OneshotResult::default()
    };
    let plan = run(&oneshot_spec(), &status_on("a", SessionPhase::Running), &accounts(), oneshot_exit(result));
    assert_eq!(plan.status.phase, SessionPhase::Succeeded);
    assert_eq!(plan.status.result.as_ref().map(|r| r.text.as_str()), Some("Done"));
    assert_eq!(
        plan.actions,
        [Action::RecordUsage { account: "a".into(), input_tokens: 100, output_tokens: 20, cost_usd: 0.25 }]
    );
    assert_eq!(plan.status.claude_session_id.as_deref(), Some("22222222-2222-3333-4444-555555555555"));
}

#[test]
fn a_oneshot_that_hits_a_limit_reruns_on_the_next_account() {
    let result = OneshotResult {
        subtype: "success".into(),
        text: "You've hit your session limit · resets 2pm (UTC)".into(),
        is_error: true,
        api_error_status: Some(429),
        session_id: "22222222-2222-3333-4444-555555555555".into(),
        rate_limit: Some(RateLimit {
            window: RateLimitWindow::Session,
            resets_at: Some(now() + Duration::hours(2)),
            message: "x".into(),
        }),
        exit_code: Some(1),
        ..OneshotResult::default()
    };
    let plan = run(&oneshot_spec(), &status_on("a", SessionPhase::Running), &accounts(), oneshot_exit(result));
    assert!(!plan.actions.iter().any(|a| matches!(a, Action::StopWorker { .. })), "{:?}", plan.actions);
    assert!(plan.actions.contains(&Action::StartWorker {
        account: "b".into(),
        resume: Some("22222222-2222-3333-4444-555555555555".into()),
        prompt: Some("fix the bug".into()),
    }));
    assert_eq!(plan.status.phase, SessionPhase::Starting);
}

#[test]
fn a_failed_oneshot_fails() {
    let result = OneshotResult {
        is_error: true,
        text: "Credit balance is too low".into(),
        exit_code: Some(1),
        ..OneshotResult::default()
    };
    let plan = run(&oneshot_spec(), &status_on("a", SessionPhase::Running), &accounts(), oneshot_exit(result));
    assert_eq!(plan.status.phase, SessionPhase::Failed);
    assert!(plan.status.message.as_deref().is_some_and(|m| m.contains("Credit balance")));
}

#[test]
fn stop_requested_stops_the_worker_and_ends_the_session() {
    let input = SessionInput {
        spec: &spec(),
        status: &status_on("a", SessionPhase::Running),
        generation: None,
        stop_requested: true,
        capacity_available: true,
    };
    let plan = reconcile(input, &accounts(), &on_a(worker(Activity::Idle)), now());
    assert!(matches!(plan.actions.as_slice(), [Action::StopWorker { .. }]));
    assert_eq!(plan.status.phase, SessionPhase::Stopped);
    let plan = reconcile(input, &accounts(), &Observed::NoWorker, now());
    assert!(plan.actions.is_empty());
    assert_eq!(plan.status.phase, SessionPhase::Stopped);
}

#[test]
fn ended_sessions_stay_ended() {
    for phase in [SessionPhase::Succeeded, SessionPhase::Failed, SessionPhase::Stopped] {
        let status = status_on("a", phase);
        let plan = run(&spec(), &status, &accounts(), Observed::NoWorker);
        assert!(plan.actions.is_empty());
        assert_eq!(plan.status.phase, phase);
        let plan = run(&spec(), &status, &accounts(), on_a(worker(Activity::Idle)));
        assert!(
            matches!(plan.actions.as_slice(), [Action::StopWorker { .. }]),
            "a stray worker of an ended session is stopped"
        );
    }
}

#[test]
fn reconcile_is_idempotent_for_a_steady_running_session() {
    let observed = on_a(worker(Activity::Idle));
    let first = run_on_a(SessionPhase::Starting, observed.clone());
    let second = run(&spec(), &first.status, &accounts(), observed);
    assert_eq!(first.status, second.status);
    assert!(second.actions.is_empty() && second.events.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Usage from the CLI's status line, and proactive rotation (`rotateAt`).

fn report(five_hour: f64, cost_usd: f64) -> StatusReport {
    StatusReport {
        plan: Some(PlanUtilization {
            five_hour: Some(UsageWindow { used_percent: five_hour, resets_at: Some(now() + Duration::hours(3)) }),
            seven_day: None,
            observed_at: now(),
        }),
        cost: Some(SessionCost { cost_usd, input_tokens: 1000, output_tokens: 100 }),
        context_percent: Some(3.0),
        model: None,
    }
}

fn rotating_accounts() -> Vec<AccountInfo> {
    let mut a = acct("a", 10);
    a.rotate_at = Some(80);
    vec![a, acct("b", 5)]
}

#[test]
fn the_status_line_updates_the_account_and_the_session_cost() {
    let mut state = worker(Activity::Working);
    state.report = Some(report(42.0, 0.25));
    let mut status = status_on("a", SessionPhase::Running);
    status.cost_before_worker = Some(SessionCost { cost_usd: 1.0, input_tokens: 10, output_tokens: 1 });
    let plan = run(&spec(), &status, &accounts(), on_a(state.clone()));
    let utilization = state.report.as_ref().and_then(|r| r.plan).expect("plan");
    assert_eq!(plan.actions, [Action::RecordUtilization { account: "a".into(), utilization }]);
    assert_eq!(plan.status.cost, Some(SessionCost { cost_usd: 1.25, input_tokens: 1010, output_tokens: 101 }));

    // Already recorded: nothing to do again.
    let mut known = accounts();
    known[0].utilization = Some(utilization);
    let plan = run(&spec(), &status, &known, on_a(state));
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
}

#[test]
fn a_call_the_cli_refused_is_an_event_once() {
    let mut state = worker(Activity::Working);
    state.last_denial =
        Some(Denial { tool: "Bash".into(), reason: "would delete files outside the repo".into(), at: now() });
    let status = status_on("a", SessionPhase::Running);
    let plan = run(&spec(), &status, &accounts(), on_a(state.clone()));
    assert!(plan.events.iter().any(|e| e.reason == "PermissionDenied" && e.message.contains("Bash")));
    assert_eq!(plan.status.last_denial, state.last_denial);
    let again = run(&spec(), &plan.status, &accounts(), on_a(state));
    assert!(again.events.is_empty(), "the same denial is told once");
}

#[test]
fn an_account_over_its_rotate_at_hands_the_conversation_on_at_the_end_of_a_turn() {
    let mut state = worker(Activity::Idle);
    state.report = Some(report(85.0, 0.5));
    let status = status_on("a", SessionPhase::Running);
    let plan = run(&spec(), &status, &rotating_accounts(), on_a(state));
    let utilization = match &plan.actions[0] {
        Action::RecordUtilization { utilization, .. } => *utilization,
        other => panic!("first the utilization: {other:?}"),
    };
    assert_eq!(utilization.five_hour.map(|w| w.used_percent), Some(85.0));
    assert_eq!(
        plan.actions[1..],
        [
            Action::StopWorker { reason: "account a reached 85% of its 5-hour window".into() },
            Action::RecordUsage { account: "a".into(), input_tokens: 1000, output_tokens: 100, cost_usd: 0.5 },
            Action::StartWorker {
                account: "b".into(),
                resume: Some("11111111-2222-3333-4444-555555555555".into()),
                prompt: None,
            },
        ],
        "the turn is over: the conversation resumes with nothing re-sent"
    );
    assert_eq!(plan.status.rotations, 1);
    assert_eq!(plan.status.cost_before_worker.map(|c| c.cost_usd), Some(0.5), "the cost so far is carried");
    assert!(plan.status.rate_limit.is_none(), "no limit was hit");
    assert!(
        plan.events.iter().any(|e| e.reason == "Rotated" && e.message.contains("85%") && e.message.contains("on b")),
        "{:?}",
        plan.events
    );
}

#[test]
fn no_early_move_mid_turn_without_a_threshold_or_with_nowhere_better_to_go() {
    let running = |activity: Activity, source: &str, five_hour: f64| {
        let mut state = worker(activity);
        state.source = source.into();
        state.report = Some(report(five_hour, 0.1));
        on_a(state)
    };
    let status = status_on("a", SessionPhase::Running);
    let moved = |plan: &Plan| plan.actions.iter().any(|a| matches!(a, Action::StopWorker { .. }));
    assert!(!moved(&run(&spec(), &status, &rotating_accounts(), running(Activity::Working, "hook", 95.0))), "mid-turn");
    assert!(
        !moved(&run(&spec(), &status, &rotating_accounts(), running(Activity::NeedsApproval, "hook", 95.0))),
        "an approval is mid-turn"
    );
    assert!(
        !moved(&run(&spec(), &status, &rotating_accounts(), running(Activity::Idle, "screen", 95.0))),
        "the screen alone does not end a turn"
    );
    assert!(!moved(&run(&spec(), &status, &rotating_accounts(), running(Activity::Idle, "hook", 79.0))), "below");
    assert!(!moved(&run(&spec(), &status, &accounts(), running(Activity::Idle, "hook", 99.0))), "no rotateAt");
    let mut off = spec();
    off.rotation = RotationPolicy::Off;
    assert!(!moved(&run(&off, &status, &rotating_accounts(), running(Activity::Idle, "hook", 95.0))), "rotation off");
    let mut both_high = rotating_accounts();
    both_high[1].rotate_at = Some(50);
    both_high[1].utilization = Some(PlanUtilization {
        five_hour: None,
        seven_day: Some(UsageWindow { used_percent: 60.0, resets_at: None }),
        observed_at: now(),
    });
    assert!(
        !moved(&run(&spec(), &status, &both_high, running(Activity::Idle, "hook", 95.0))),
        "the other account is over its own threshold: stay until the limit itself"
    );
}
