//! Carrying out a [`Plan`]: one walk over its actions for both runtimes, each of which says how
//! an action is done ([`Effects`]: worker processes and the store, or Pods and the API server).

use std::future::Future;

use chrono::{DateTime, Utc};
use cockpit_api::ids::ConversationId;
use cockpit_api::{ClaudeSessionStatus, PlanUtilization, RateLimitWindow};

use super::decide::{Action, Plan};

/// How a worker start went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Started {
    /// The worker runs this conversation (new or resumed).
    Running {
        /// The CLI's conversation id.
        conversation: ConversationId,
    },
    /// It did not start; the session's status says why.
    Failed {
        /// Why.
        message: String,
    },
    /// Nothing was started (the account is gone since the plan was made): the next reconcile
    /// decides again.
    Skipped,
}

/// What the actions of a plan do in one runtime. An error ends the walk (the runtime retries
/// the reconcile); a start that fails for a reason the person should read is
/// [`Started::Failed`].
pub trait Effects {
    /// What goes wrong.
    type Error;

    /// Stops the session's worker.
    fn stop_worker(&mut self, reason: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Starts a worker on `account`, resuming `resume` (a conversation id) when given, with
    /// `prompt` as its first message or task.
    fn start_worker(
        &mut self,
        account: &str,
        resume: Option<&ConversationId>,
        prompt: Option<&str>,
    ) -> impl Future<Output = Result<Started, Self::Error>> + Send;

    /// The account hit a usage limit: not chosen before `until`.
    fn mark_account_limited(
        &mut self,
        account: &str,
        until: DateTime<Utc>,
        window: RateLimitWindow,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Records the account's utilization as its CLI reported it.
    fn record_utilization(
        &mut self,
        account: &str,
        utilization: &PlanUtilization,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Adds a finished run's usage to the account.
    fn record_usage(
        &mut self,
        account: &str,
        input_tokens: u64,
        output_tokens: u64,
        cost_usd: f64,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// What carrying out a plan leaves to its runtime.
#[derive(Clone, Debug, PartialEq)]
pub struct Executed {
    /// The session's new status: the plan's, with the conversation a started worker runs or
    /// why it did not start.
    pub status: ClaudeSessionStatus,
    /// True when an account changed (a limit, usage, a session started on it).
    pub accounts_changed: bool,
    /// True when the plan stopped or started a worker (the one there was is not the one to
    /// follow any more).
    pub worker_replaced: bool,
}

/// Carries out `plan`'s actions in order with `effects`.
pub async fn execute<E: Effects>(plan: &Plan, effects: &mut E) -> Result<Executed, E::Error> {
    let mut status = plan.status.clone();
    let mut accounts_changed = false;
    let mut worker_replaced = false;
    for action in &plan.actions {
        match action {
            Action::StopWorker { reason } => {
                effects.stop_worker(reason).await?;
                worker_replaced = true;
            }
            Action::StartWorker { account, resume, prompt } => {
                worker_replaced = true;
                match effects.start_worker(account, resume.as_ref(), prompt.as_deref()).await? {
                    Started::Running { conversation } => {
                        status.claude_session_id = Some(conversation);
                        accounts_changed = true;
                    }
                    Started::Failed { message } => status.message = Some(message),
                    Started::Skipped => {}
                }
            }
            Action::MarkAccountLimited { account, until, window } => {
                effects.mark_account_limited(account, *until, *window).await?;
                accounts_changed = true;
            }
            Action::RecordUtilization { account, utilization } => {
                effects.record_utilization(account, utilization).await?;
                accounts_changed = true;
            }
            Action::RecordUsage { account, input_tokens, output_tokens, cost_usd } => {
                effects.record_usage(account, *input_tokens, *output_tokens, *cost_usd).await?;
                accounts_changed = true;
            }
        }
    }
    Ok(Executed { status, accounts_changed, worker_replaced })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every effect; starts as told.
    #[derive(Default)]
    struct Recorder {
        done: Vec<String>,
        start: Option<Started>,
        fail_on: Option<&'static str>,
    }

    impl Recorder {
        fn note(&mut self, what: String) -> Result<(), String> {
            if self.fail_on.is_some_and(|f| what.starts_with(f)) {
                return Err(format!("{what} failed"));
            }
            self.done.push(what);
            Ok(())
        }
    }

    impl Effects for Recorder {
        type Error = String;

        async fn stop_worker(&mut self, reason: &str) -> Result<(), String> {
            self.note(format!("stop {reason}"))
        }

        async fn start_worker(
            &mut self,
            account: &str,
            resume: Option<&ConversationId>,
            prompt: Option<&str>,
        ) -> Result<Started, String> {
            self.note(format!("start {account} {resume:?} {prompt:?}"))?;
            Ok(self.start.clone().unwrap_or(Started::Skipped))
        }

        async fn mark_account_limited(
            &mut self,
            account: &str,
            until: DateTime<Utc>,
            window: RateLimitWindow,
        ) -> Result<(), String> {
            self.note(format!("limit {account} {until} {window:?}"))
        }

        async fn record_utilization(&mut self, account: &str, _: &PlanUtilization) -> Result<(), String> {
            self.note(format!("utilization {account}"))
        }

        async fn record_usage(&mut self, account: &str, input: u64, output: u64, cost: f64) -> Result<(), String> {
            self.note(format!("usage {account} {input} {output} {cost}"))
        }
    }

    fn plan(actions: Vec<Action>) -> Plan {
        Plan { status: ClaudeSessionStatus::default(), actions, requeue_at: None, events: Vec::new() }
    }

    fn until() -> DateTime<Utc> {
        "2026-12-03T15:00:00Z".parse().expect("time")
    }

    #[tokio::test]
    async fn actions_run_in_order_and_a_started_worker_names_its_conversation() {
        let plan = plan(vec![
            Action::MarkAccountLimited { account: "alpha".into(), until: until(), window: RateLimitWindow::Session },
            Action::StopWorker { reason: "rotating".into() },
            Action::StartWorker { account: "beta".into(), resume: Some("c-1".into()), prompt: None },
            Action::RecordUsage { account: "alpha".into(), input_tokens: 3, output_tokens: 4, cost_usd: 0.5 },
        ]);
        let mut effects =
            Recorder { start: Some(Started::Running { conversation: "c-1".into() }), ..Recorder::default() };
        let executed = execute(&plan, &mut effects).await.expect("executes");
        assert_eq!(
            effects.done,
            [
                "limit alpha 2026-12-03 15:00:00 UTC Session",
                "stop rotating",
                "start beta Some(\"c-1\") None",
                "usage alpha 3 4 0.5",
            ]
        );
        assert_eq!(executed.status.claude_session_id.as_deref(), Some("c-1"));
        assert!(executed.accounts_changed && executed.worker_replaced);
    }

    #[tokio::test]
    async fn a_failed_start_is_told_in_the_status_and_an_error_stops_the_walk() {
        let start = plan(vec![Action::StartWorker { account: "beta".into(), resume: None, prompt: Some("hi".into()) }]);
        let mut effects =
            Recorder { start: Some(Started::Failed { message: "no repo".into() }), ..Recorder::default() };
        let executed = execute(&start, &mut effects).await.expect("executes");
        assert_eq!(executed.status.message.as_deref(), Some("no repo"));
        assert_eq!(executed.status.claude_session_id, None);
        assert!(!executed.accounts_changed, "nothing started on the account");

        let two = plan(vec![
            Action::StopWorker { reason: "deleted".into() },
            Action::RecordUsage { account: "alpha".into(), input_tokens: 1, output_tokens: 1, cost_usd: 0.0 },
        ]);
        let mut effects = Recorder { fail_on: Some("stop"), ..Recorder::default() };
        assert_eq!(execute(&two, &mut effects).await, Err("stop deleted failed".to_owned()));
        assert!(effects.done.is_empty(), "nothing after the failed action");
    }

    #[tokio::test]
    async fn a_plan_without_actions_changes_nothing() {
        let mut effects = Recorder::default();
        let executed = execute(&plan(Vec::new()), &mut effects).await.expect("executes");
        assert_eq!(executed.status, ClaudeSessionStatus::default());
        assert!(!executed.accounts_changed && !executed.worker_replaced);
        assert!(effects.done.is_empty());
    }
}
