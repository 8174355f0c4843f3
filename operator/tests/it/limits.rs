//! `limits.maxConcurrentSessions`: a session beyond the limit waits, and starts the moment a
//! running one's CLI exits — not once that worker has finished lingering, nor at the next tick.

use crate::support::harness;

use cockpit_api::SessionPhase;
use harness::*;

#[tokio::test]
async fn a_session_waiting_for_a_slot_starts_as_soon_as_a_cli_exits() {
    let dir = tempfile::tempdir().expect("tmp");
    let go = dir.path().join("go");
    // Runs until the go file appears, takes it (so the next session waits for its own), exits.
    let cli = script(
        dir.path(),
        "waiting-cli.sh",
        &format!(
            "[ \"$1\" = --version ] && {{ echo 1.0.0; exit 0; }}\necho started\nwhile [ ! -e {go} ]; do sleep 0.05; done\nrm -f {go}\necho bye\n",
            go = go.display()
        ),
    );
    let config = format!("{}limits:\n  maxConcurrentSessions: 1\n", one_repo_config(dir.path(), &cli));
    let cockpit = Cockpit::start(dir.path(), &config, &[("TOKEN_ALPHA", "sk-ant-oat01-limits")]).await;

    assert_eq!(
        cockpit.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "first"})).await.status(),
        201
    );
    let first = cockpit
        .wait_session("first", "the first session running", |s| {
            s.status.phase == SessionPhase::Running && s.status.worker_endpoint.is_some()
        })
        .await;
    assert_eq!(
        cockpit.post("/api/sessions", serde_json::json!({"repo_name": "demo", "name": "second"})).await.status(),
        201
    );
    // A new session is Pending from the start: it waits for the slot once the controller says
    // why.
    let waiting = cockpit
        .wait_session("second", "the second session waiting for a slot", |s| {
            s.status.phase == SessionPhase::Pending
                && s.status.message.as_deref().is_some_and(|m| m.contains("concurrent-session limit"))
        })
        .await;
    assert!(waiting.status.worker_endpoint.is_none(), "{waiting:#?}");

    std::fs::write(&go, b"").expect("go");
    cockpit
        .wait_session("second", "the second session running", |s| {
            s.status.phase == SessionPhase::Running && s.status.worker_endpoint.is_some()
        })
        .await;
    // The first worker stays up a second after its CLI exited (to serve the final state): the
    // second session did not wait for it.
    let endpoint = first.status.worker_endpoint.expect("endpoint");
    let lingering = cockpit.http.get(format!("http://{endpoint}/healthz")).send().await;
    assert!(
        lingering.is_ok_and(|r| r.status().is_success()),
        "the first worker still lingered when the second started"
    );
    let first = cockpit.session("first").await;
    assert_eq!(first.status.phase, SessionPhase::Succeeded, "{first:#?}");
}
