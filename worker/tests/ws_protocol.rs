//! The worker's WebSocket protocol end to end, with real processes in a real PTY (no Claude
//! needed): replay from offsets, snapshots, fan-out, slow clients, input, bad input, shutdown.

mod common;

use std::time::Duration;

use cockpit_api::Activity;
use cockpit_api::frames::ErrorCode;
use common::*;
use futures_util::StreamExt;
use serde_json::json;

const T: Duration = Duration::from_secs(30);

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

async fn start(script: &str, extra: &[&str]) -> (Worker, tempfile::TempDir) {
    let dir = tmp();
    let mut args = vec!["--command", "bash", "--claude-integration", "off", "--linger-secs", "1"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "-c", script]);
    (Worker::start(&args, &[], dir.path()).await, dir)
}

#[tokio::test]
async fn reconnect_with_an_offset_replays_exactly_the_missed_bytes() {
    let (worker, _dir) =
        start("for i in $(seq 1 300); do echo \"line $i\"; sleep 0.005; done; echo DONE-MARK; sleep 60", &[]).await;
    let mut first = connect(&worker.ws_url(Some(0))).await;
    let mut part1 = Seen::default();
    read_until(&mut first, &mut part1, T, "line 40", |s| contains(&s.output, b"line 40\r\n")).await;
    let resume_at = part1.next_offset;
    drop(first);
    worker.wait_screen("DONE-MARK", T).await;

    let mut again = connect(&worker.ws_url(Some(resume_at))).await;
    let mut part2 = Seen::default();
    read_until(&mut again, &mut part2, T, "the rest", |s| contains(&s.output, b"DONE-MARK")).await;
    assert_eq!(part2.first_offset, Some(resume_at), "replay starts exactly where the client left");
    assert!(part2.snapshots.is_empty(), "held bytes are replayed, not repainted");

    let mut full = connect(&worker.ws_url(Some(0))).await;
    let mut all = Seen::default();
    read_until(&mut full, &mut all, T, "everything", |s| contains(&s.output, b"DONE-MARK")).await;
    let mut stitched = part1.output.clone();
    stitched.extend_from_slice(&part2.output);
    assert_eq!(stitched, all.output, "no byte lost or repeated across the reconnect");
    assert!(contains(&all.output, b"line 300\r\n"));
}

#[tokio::test]
async fn an_offset_older_than_the_ring_yields_a_snapshot_then_live_bytes() {
    let (worker, _dir) = start(
        "seq 1 30000; echo SNAP-READY; read -r x; echo \"after $x\"; sleep 60",
        &["--ring-bytes", "65536", "--cols", "80", "--rows", "24"],
    )
    .await;
    worker.wait_screen("SNAP-READY", T).await;
    let state = worker.state().await;
    assert!(state.start_offset > 0, "the ring dropped the oldest bytes: {state:?}");
    let mut ws = connect(&worker.ws_url(Some(0))).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, T, "a snapshot", |s| !s.snapshots.is_empty()).await;
    let (offset, snapshot) = &seen.snapshots[0];
    assert!(*offset > state.start_offset);
    let text = String::from_utf8_lossy(snapshot);
    assert!(text.contains("30000") && text.contains("SNAP-READY"), "the snapshot repaints the screen: {text:?}");
    assert!(!text.contains("\n1\r\n2\r\n"), "not a replay from the start");
    send_json(&mut ws, json!({"type": "input", "data": "ok"})).await;
    send_json(&mut ws, json!({"type": "key", "key": "Enter"})).await;
    read_until(&mut ws, &mut seen, T, "live output after the snapshot", |s| contains(&s.output, b"after ok")).await;
}

#[tokio::test]
async fn a_client_without_offset_gets_the_current_screen() {
    let (worker, _dir) = start("echo hello-screen; sleep 60", &[]).await;
    worker.wait_screen("hello-screen", T).await;
    let mut ws = connect(&worker.ws_url(None)).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, T, "hello and snapshot", |s| s.hello.is_some() && !s.snapshots.is_empty()).await;
    assert!(contains(&seen.snapshots[0].1, b"hello-screen"));
    let hello = seen.hello.expect("hello");
    assert_eq!((hello.cols, hello.rows), (120, 40));
}

#[tokio::test]
async fn two_clients_receive_identical_streams() {
    let (worker, _dir) =
        start("sleep 0.5; for i in $(seq 1 2000); do echo \"row $i $RANDOM\"; done; echo END-MARK; sleep 60", &[])
            .await;
    let mut a = connect(&worker.ws_url(Some(0))).await;
    let mut b = connect(&worker.ws_url(Some(0))).await;
    let mut sa = Seen::default();
    let mut sb = Seen::default();
    read_until(&mut a, &mut sa, T, "end on a", |s| contains(&s.output, b"END-MARK")).await;
    read_until(&mut b, &mut sb, T, "end on b", |s| contains(&s.output, b"END-MARK")).await;
    assert_eq!(sa.first_offset, Some(0));
    assert_eq!(sa.output, sb.output);
    assert!(sa.output.len() > 20_000);
}

#[tokio::test]
async fn a_slow_client_does_not_stall_the_pty_or_a_fast_client() {
    // 40 MB in 100 bursts of 400 KB, 30 ms apart (>= 13 MB/s): a client that reads keeps up
    // even on a loaded machine (an unpaced `yes` outran a debug-built test client on a busy CI
    // machine, which was then rightly repainted), while one that reads nothing falls 40 MB
    // behind — five times the ring.
    let (worker, _dir) = start(
        "sleep 0.5; for i in $(seq 100); do yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 400000; sleep 0.03; done; \
         echo; echo FLOOD-END; sleep 60",
        &[],
    )
    .await;
    // The slow client reads its hello and then nothing for a while.
    let (mut slow, slow_seen) = connect_hello(&worker.ws_url(Some(0)), T).await;

    let mut fast = connect(&worker.ws_url(Some(0))).await;
    let mut fast_seen = Seen::default();
    let started = std::time::Instant::now();
    read_until(&mut fast, &mut fast_seen, Duration::from_secs(60), "the whole flood", |s| {
        contains(&s.output[s.output.len().saturating_sub(64)..], b"FLOOD-END")
    })
    .await;
    let fast_took = started.elapsed();
    assert!(fast_seen.output.len() > 40_000_000, "the fast client got every byte: {}", fast_seen.output.len());
    assert!(fast_seen.snapshots.is_empty(), "the fast client never needed a resync");

    let end = worker.state().await.end_offset;
    // Now the slow client drains: it is resynced (snapshot) instead of replaying 40 MB.
    let mut slow_out = Seen { hello: slow_seen.hello.clone(), ..Seen::default() };
    let deadline = tokio::time::Instant::now() + T;
    while slow_out.next_offset < end || slow_out.first_offset.is_none() {
        match tokio::time::timeout(deadline.saturating_duration_since(tokio::time::Instant::now()), slow.next()).await {
            Ok(Some(Ok(msg))) => {
                if let tokio_tungstenite::tungstenite::Message::Binary(bytes) = &msg {
                    let frame = cockpit_api::frames::decode_binary(bytes).expect("frame");
                    if frame.kind == cockpit_api::frames::BinaryKind::Snapshot || slow_out.first_offset.is_none() {
                        slow_out.output.clear();
                        slow_out.first_offset = None;
                    }
                }
                slow_out.apply(msg);
            }
            other => panic!("slow client stream ended early: {other:?} ({} of {end})", slow_out.next_offset),
        }
    }
    assert!(!slow_out.snapshots.is_empty(), "the slow client was resynced with a snapshot");
    assert_eq!(slow_out.next_offset, end, "and ends where the stream ends");
    eprintln!("fast client took {fast_took:?} for {} bytes", fast_seen.output.len());
}

#[tokio::test]
async fn a_slow_mirror_asking_for_replay_gets_every_byte_the_ring_holds() {
    // 6 MB (under the 8 MiB ring) while the mirror reads nothing: a screen client would be
    // repainted; a mirror (`lag=replay`, the control plane) is replayed exactly.
    let (worker, _dir) = start(
        "sleep 0.5; seq -f 'mirror line %08g ...........................................' 1 100000; echo MIRROR-END; sleep 60",
        &[],
    )
    .await;
    let (mut mirror, mut seen) = connect_hello(&format!("{}&lag=replay", worker.ws_url(Some(0))), T).await;
    worker.wait_screen("MIRROR-END", T).await;
    read_until(&mut mirror, &mut seen, T, "the whole output", |s| {
        contains(&s.output[s.output.len().saturating_sub(64)..], b"MIRROR-END")
    })
    .await;
    assert!(seen.snapshots.is_empty(), "never repainted");
    assert_eq!(seen.first_offset, Some(0));
    let text = String::from_utf8_lossy(&seen.output);
    let numbers: Vec<u64> =
        text.lines().filter_map(|l| l.strip_prefix("mirror line ")?.get(..8)?.parse().ok()).collect();
    assert_eq!(numbers.len(), 100_000, "every line");
    assert!(numbers.iter().enumerate().all(|(i, n)| *n == i as u64 + 1), "in order");

    let err = tokio_tungstenite::connect_async(ws_request(&format!(
        "{}/ws?lag=sometimes",
        worker.base.replacen("http", "ws", 1)
    )))
    .await
    .expect_err("refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => {
            assert_eq!(resp.status(), 400);
            let body = String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default()).into_owned();
            assert!(body.contains("`lag` must be `repaint` or `replay`"), "{body}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn input_keys_and_resize_reach_the_program() {
    let (worker, _dir) = start(
        "stty -echo; while read -r line; do echo \"got:$line\"; stty size; done",
        &["--cols", "90", "--rows", "30"],
    )
    .await;
    let mut ws = connect(&worker.ws_url(Some(0))).await;
    let mut seen = Seen::default();
    send_json(&mut ws, json!({"type": "input", "data": "hello"})).await;
    send_json(&mut ws, json!({"type": "key", "key": "Enter"})).await;
    read_until(&mut ws, &mut seen, T, "echo", |s| contains(&s.output, b"got:hello\r\n30 90")).await;
    send_json(&mut ws, json!({"type": "resize", "cols": 50, "rows": 20})).await;
    read_until(&mut ws, &mut seen, T, "resize state", |s| {
        s.last_state().is_some_and(|st| st.cols == 50 && st.rows == 20)
    })
    .await;
    ws_send_binary(&mut ws, b"raw\r").await;
    read_until(&mut ws, &mut seen, T, "new size", |s| contains(&s.output, b"got:raw\r\n20 50")).await;
}

#[tokio::test]
async fn output_printed_line_by_line_is_sent_in_batches_but_whole() {
    // 150 lines 2 ms apart (bash's own `read -t` on a pipe that stays empty: no process per
    // pause, so a loaded machine stretches it little): read as they come that is ~150 chunks;
    // paced at 16 ms (`pacing::TRICKLE_PACE`) far fewer, every byte.
    let (worker, _dir) = start(
        "sleep 0.3; exec 9<> <(:); for i in $(seq 150); do echo \"trickle $i\"; read -r -t 0.002 -u 9; done; \
         echo TRICKLE-END; sleep 30",
        &[],
    )
    .await;
    let mut ws = connect(&worker.ws_url(Some(0))).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, T, "the last line", |s| contains(&s.output, b"TRICKLE-END")).await;
    let text = String::from_utf8_lossy(&seen.output);
    let numbers: Vec<u32> = text.lines().filter_map(|l| l.trim_end().strip_prefix("trickle ")?.parse().ok()).collect();
    assert_eq!(numbers, (1..=150).collect::<Vec<_>>(), "every line, in order");
    assert!(seen.output_frames <= 100, "{} frames for 150 lines: not batched", seen.output_frames);
}

#[tokio::test]
async fn a_megabyte_of_input_reaches_the_program_whole_and_in_order() {
    // A raw-mode terminal takes a few KiB at a time: the rest waits for the program to read,
    // it is never dropped or reordered.
    let (worker, _dir) = start(
        "stty raw -echo; head -c 1000000 > got; printf '\\r\\nbytes=%s lines=%s\\r\\n' \"$(wc -c < got)\" \"$(fold -w 10 got | sort -u | tr '\\n' ,)\"; sleep 30",
        &[],
    )
    .await;
    let (mut ws, mut seen) = connect_hello(&worker.ws_url(Some(0)), T).await;
    let chunk = "0123456789".repeat(5_000);
    for _ in 0..20 {
        send_json(&mut ws, json!({"type": "input", "data": chunk})).await;
    }
    read_until(&mut ws, &mut seen, T, "the program's count", |s| contains(&s.output, b"bytes=")).await;
    worker.wait_screen("bytes=1000000 lines=0123456789,", T).await;
}

async fn ws_send_binary(ws: &mut Ws, bytes: &[u8]) {
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Binary(bytes.to_vec().into())).await.expect("send");
}

#[tokio::test]
async fn bad_frames_get_clear_errors_and_change_nothing() {
    let (worker, _dir) = start("stty -echo; while read -r line; do echo \"got:$line\"; done", &[]).await;
    let (mut ws, mut seen) = connect_hello(&worker.ws_url(Some(0)), T).await;
    let before = worker.state().await;
    let cases: Vec<(String, ErrorCode)> = vec![
        ("{not json".into(), ErrorCode::BadFrame),
        (json!({"type": "key", "key": "F13"}).to_string(), ErrorCode::BadFrame),
        (json!({"type": "input"}).to_string(), ErrorCode::BadFrame),
        (json!({"type": "input", "data": "x", "sneaky": true}).to_string(), ErrorCode::BadFrame),
        (json!({"type": "resize", "cols": 0, "rows": 0}).to_string(), ErrorCode::InvalidSize),
        (json!({"type": "resize", "cols": 5000, "rows": 10}).to_string(), ErrorCode::InvalidSize),
        (json!({"type": "approve", "id": "nope", "decision": "allow"}).to_string(), ErrorCode::NoPendingApproval),
        (json!({"type": "approve", "id": "nope", "decision": "maybe"}).to_string(), ErrorCode::BadFrame),
        (format!(r#"{{"type":"input","data":"{}"}}"#, "y".repeat(70_000)), ErrorCode::FrameTooLarge),
    ];
    for (i, (text, code)) in cases.iter().enumerate() {
        send_text(&mut ws, text).await;
        read_until(&mut ws, &mut seen, T, "error frame", |s| s.errors.len() > i).await;
        assert_eq!(seen.errors[i].0, *code, "frame {text:.80} → {:?}", seen.errors[i]);
        assert!(!seen.errors[i].1.is_empty(), "errors explain themselves");
    }
    // The connection still works and nothing reached the program.
    send_json(&mut ws, json!({"type": "input", "data": "fine\r"})).await;
    read_until(&mut ws, &mut seen, T, "echo", |s| contains(&s.output, b"got:fine")).await;
    assert!(!contains(&seen.output, b"got:x") && !contains(&seen.output, b"yyyy"));
    let after = worker.state().await;
    assert_eq!((after.cols, after.rows), (before.cols, before.rows));
}

#[tokio::test]
async fn bad_offsets_are_refused() {
    let (worker, _dir) = start("sleep 60", &[]).await;
    let err =
        tokio_tungstenite::connect_async(ws_request(&format!("{}/ws?from=-3", worker.base.replacen("http", "ws", 1))))
            .await
            .expect_err("refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 400),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn only_the_control_plane_may_drive_a_worker() {
    let (worker, _dir) = start("while read -r line; do echo \"got:$line\"; done", &[]).await;
    let ws = worker.ws_url(Some(0));
    let status_of = |err: tokio_tungstenite::tungstenite::Error| match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => resp.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    };
    // A local process that knows the address, without the credential: no upgrade.
    let err = tokio_tungstenite::connect_async(ws.as_str()).await.expect_err("refused");
    assert_eq!(status_of(err), 401);
    // A wrong credential.
    let mut wrong = ws_request(&ws);
    wrong.headers_mut().insert("authorization", "Bearer not-the-credential-0123456789abcdef".parse().expect("value"));
    assert_eq!(status_of(tokio_tungstenite::connect_async(wrong).await.expect_err("refused")), 401);
    // A web page (it carries an Origin), even with the credential.
    for origin in ["https://evil.example", "http://127.0.0.1:8080", "null"] {
        let mut page = ws_request(&ws);
        page.headers_mut().insert("origin", origin.parse().expect("value"));
        assert_eq!(status_of(tokio_tungstenite::connect_async(page).await.expect_err("refused")), 403, "{origin}");
    }
    // Plain HTTP: the state and the screen ask for it too; /healthz says only "ok".
    let client = reqwest::Client::new();
    for path in ["/state", "/screen", "/ws"] {
        let resp = client.get(format!("{}{path}", worker.base)).send().await.expect("GET");
        assert_eq!(resp.status().as_u16(), 401, "{path}");
    }
    let health = client.get(format!("{}/healthz", worker.base)).send().await.expect("GET /healthz");
    assert_eq!(health.text().await.expect("text"), "ok");
    // Nothing was typed by any of them: the first line the program gets is the control plane's.
    let (mut ws, mut seen) = connect_hello(&ws, T).await;
    send_json(&mut ws, json!({"type": "input", "data": "from-the-control-plane\r"})).await;
    read_until(&mut ws, &mut seen, T, "echo", |s| contains(&s.output, b"got:")).await;
    read_until(&mut ws, &mut seen, T, "echo", |s| contains(&s.output, b"got:from-the-control-plane")).await;
    let text = String::from_utf8_lossy(&seen.output);
    assert_eq!(text.matches("got:").count(), 1, "{text}");
}

#[test]
fn a_worker_without_the_control_planes_credential_does_not_start() {
    let dir = tmp();
    let out = std::process::Command::new(worker_bin())
        .args(["run", "--listen", "127.0.0.1:0", "--command", "true", "--claude-integration", "off"])
        .current_dir(dir.path())
        .env_remove("COCKPIT_WORKER_CREDENTIAL")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("worker runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs the control plane's credential"), "{stderr}");
    assert!(out.stdout.is_empty(), "it never listened");
}

/// Runs `cockpit-worker post-hook` (what the CLI's command hooks run) from this test process:
/// another local process, not a descendant of the worker's CLI. Returns its exit status and
/// standard error.
fn post_hook_from_here(socket: &str, event: &str, body: &str) -> (std::process::ExitStatus, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(worker_bin())
        .args(["post-hook", "--socket", socket, "--event", event])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("post-hook starts");
    child.stdin.take().expect("stdin").write_all(body.as_bytes()).expect("body written");
    let out = child.wait_with_output().expect("post-hook ends");
    (out.status, String::from_utf8_lossy(&out.stderr).into_owned())
}

const FORGED_LIMIT: &str = r#"{"session_id":"forged-conversation","error":"rate_limit","last_assistant_message":"You've hit your session limit · resets 11pm (UTC)"}"#;

#[tokio::test]
async fn hook_posts_from_a_process_outside_the_cli_are_refused_and_change_nothing() {
    let (worker, _dir) = start("sleep 60", &[]).await;
    let socket = worker.hooks.clone().expect("hook socket logged");
    let before = worker.state().await;
    let (status, stderr) = post_hook_from_here(&socket, "StopFailure", FORGED_LIMIT);
    assert!(!status.success(), "refused");
    assert!(stderr.contains("403"), "{stderr}");
    let after = worker.state().await;
    assert_eq!(after.activity, before.activity);
    assert_eq!(after.rate_limit, None, "nothing changed");
    assert_eq!(after.claude_session_id, before.claude_session_id, "the conversation id is not overwritten");
    assert!(worker.stderr_log.lock().expect("log").iter().any(|l| l.contains("refused a hook post")));
    // The socket is in a directory only its user may enter, not in a shared Claude home.
    let dir = std::path::Path::new(&socket).parent().expect("socket dir");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(dir).expect("dir").permissions().mode() & 0o777, 0o700);
}

#[tokio::test]
async fn another_sessions_shell_cannot_post_as_this_session_but_its_own_cli_can() {
    let (a, _dir_a) = start("sleep 60", &[]).await;
    let a_socket = a.hooks.clone().expect("hook socket logged");
    let a_before = a.state().await;
    let files = tmp();
    let body = files.path().join("forged.json");
    std::fs::write(&body, FORGED_LIMIT).expect("body written");
    let own = files.path().join("own-socket");
    let exe = worker_bin();
    // Session B's program is a shell that knows A's socket (as it could by listing the temp
    // dir) and posts a forged usage limit there; then the same to its own worker's socket, once
    // the test tells it where that is.
    let script = format!(
        "post() {{ '{exe}' post-hook --socket \"$1\" --event StopFailure < '{body}'; }}; \
         post '{a_socket}'; echo \"to-a:$?\"; \
         while [ ! -s '{own}' ]; do sleep 0.05; done; \
         post \"$(cat '{own}')\"; echo \"to-own:$?\"; sleep 60",
        exe = exe.display(),
        body = body.display(),
        own = own.display(),
    );
    let (b, _dir_b) = start(&script, &[]).await;
    b.wait_screen("to-a:1", T).await;
    let a_state = a.state().await;
    assert_eq!(a_state.rate_limit, None, "A is not limited by B's post");
    assert_eq!(a_state.activity, a_before.activity, "A's activity is untouched");
    assert_ne!(a_state.claude_session_id.as_deref(), Some("forged-conversation"));
    assert!(a.stderr_log.lock().expect("log").iter().any(|l| l.contains("refused a hook post")));

    // The check is about who sends, not a blanket refusal: a process under B's own CLI posting
    // to B's own socket is believed (that is how the real CLI's hooks report).
    std::fs::write(&own, b.hooks.clone().expect("hook socket logged")).expect("socket path written");
    b.wait_screen("to-own:0", T).await;
    let b_state = b.wait_state("B rate limited", T, |s| s.rate_limit.is_some()).await;
    assert_eq!(b_state.claude_session_id.as_deref(), Some("forged-conversation"));
}

#[tokio::test]
async fn sigterm_stops_the_program_and_reports_its_exit_code() {
    let (worker, _dir) = start("trap 'echo bye; exit 7' TERM; echo ready; while true; do sleep 0.05; done", &[]).await;
    worker.wait_screen("ready", T).await;
    let (mut ws, mut seen) = connect_hello(&worker.ws_url(Some(0)), T).await;
    let pid = worker.child.id().expect("pid") as i32;
    // SAFETY: kill(2) with the worker's pid.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    read_until(&mut ws, &mut seen, T, "exit state", |s| {
        s.last_state().is_some_and(|st| st.activity == Activity::Exited)
    })
    .await;
    assert_eq!(seen.last_state().and_then(|s| s.exit_code), Some(7));
    assert!(contains(&seen.output, b"bye"));
    let mut worker = worker;
    let status = worker.child.wait().await.expect("status");
    assert_eq!(status.code(), Some(7), "the worker exits with the CLI's code");
}

#[tokio::test]
async fn a_program_ignoring_sigterm_is_killed_after_the_grace_period() {
    let (worker, _dir) =
        start("trap '' TERM; echo ready; while true; do sleep 0.05; done", &["--grace-secs", "1"]).await;
    worker.wait_screen("ready", T).await;
    let started = std::time::Instant::now();
    let status = worker.terminate().await;
    assert_eq!(status.code(), Some(128 + 9), "killed");
    assert!(started.elapsed() >= Duration::from_millis(900));
}
