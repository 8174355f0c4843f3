//! No account token within a session's reach: `cockpit serve` runs as an unprivileged user (as
//! the product does), a session's own shell — the same user — looks for the token in every
//! `/proc/*/environ` and `/proc/*/cmdline` it can read and in every file it can read under the
//! home, the data dir (Claude home, worktrees, logs) and /tmp, and finds none; the conversation
//! still reached the API with the real token (through the worker's proxy).
//!
//! Creates the OS user `cockpit-probe` when missing (the test command runs as root).

use crate::support::harness;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use cockpit_testkit::StandIn;
use harness::*;

const USER: &str = "cockpit-probe";

fn probe_user() -> (u32, u32) {
    let exists = std::process::Command::new("id").arg("-u").arg(USER).output().expect("id");
    if !exists.status.success() {
        let made = std::process::Command::new("useradd")
            .args(["--system", "--no-create-home", "--shell", "/bin/bash", USER])
            .status()
            .expect("useradd (the test command runs as root)");
        assert!(made.success(), "useradd {USER}: {made}");
    }
    let id = |flag: &str| -> u32 {
        let out = std::process::Command::new("id").arg(flag).arg(USER).output().expect("id");
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("a number")
    };
    (id("-u"), id("-g"))
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    let status =
        std::process::Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(path).status().expect("chown");
    assert!(status.success());
}

#[tokio::test]
async fn a_sessions_own_shell_finds_no_token_anywhere_it_can_read() {
    let (uid, gid) = probe_user();
    // Made up now: not in this source or any binary built from it, which /tmp may hold.
    let token = format!("sk-ant-oat01-probe-{}", uuid::Uuid::new_v4().simple());
    let (first, second) = token.split_at(token.len() / 2);
    let api = StandIn::start().await.expect("stand-in");
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let repo = git_repo(dir.path());
    let result = dir.path().join("result.txt");
    let config = claude_config(&repo, ALPHA_ACCOUNT);
    chown_tree(dir.path(), uid, gid);
    assert_eq!(std::fs::metadata(dir.path()).expect("meta").uid(), uid);
    let base = api.base_url();
    let home_s = home.to_string_lossy().into_owned();
    let cockpit = Cockpit::start_as(
        dir.path(),
        &config,
        &[
            ("ANTHROPIC_BASE_URL", base.as_str()),
            ("TOKEN_ALPHA", token.as_str()),
            ("HOME", home_s.as_str()),
            ("CLAUDE_CODE_MAX_RETRIES", "1"),
        ],
        Some((uid, gid)),
    )
    .await;

    // The probe: the token is spelled in two halves so that no command line holds it whole.
    let data = cockpit.data_dir.display().to_string();
    let probe = format!(
        "P=$(printf '{first}%s' '{second}'); {{ n=0; for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do \
         if [ -r \"$f\" ] && tr '\\0' '\\n' < \"$f\" > /dev/null 2>&1; then n=$((n+1)); fi; \
         if tr '\\0' '\\n' < \"$f\" 2>/dev/null | grep -qF -f <(printf '%s\\n' \"$P\"); then echo \"FOUND $f\"; fi; \
         if tr '\\0' '\\n' < \"$f\" 2>/dev/null | grep -qF cockpit-proxy-placeholder; then echo \"PLACEHOLDER $f\"; fi; done; \
         echo \"READ $n\"; grep -rlF -f <(printf '%s\\n' \"$P\") {home} {data} /tmp 2>/dev/null | sed 's/^/FOUND /'; \
         echo PROBE-DONE; }} > {result} 2>&1",
        home = home.display(),
        result = result.display(),
    );
    let resp = cockpit
        .post(
            "/api/sessions",
            serde_json::json!({"repo_name": "demo", "name": "probe", "prompt": format!("TOOLRUN {probe}")}),
        )
        .await;
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap_or_default());
    // The person allows the probe's Bash call from the phone.
    let asked = cockpit
        .wait_session("probe", "the Bash call to ask", |s| {
            s.live.as_ref().and_then(|l| l.approval.as_ref()).is_some_and(|a| a.answerable)
        })
        .await;
    let id = asked.live.and_then(|l| l.approval).map(|a| a.id).expect("approval");
    let resp = cockpit.post("/api/sessions/probe/approval", serde_json::json!({"id": id, "decision": "allow"})).await;
    assert!(resp.status().is_success(), "{}", resp.status());
    let deadline = tokio::time::Instant::now() + T;
    let report = loop {
        let text = std::fs::read_to_string(&result).unwrap_or_default();
        if text.contains("PROBE-DONE") {
            break text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the probe never finished; screen:\n{}\nrequests: {:?}",
            cockpit.screen("probe").await,
            api.requests().iter().map(|r| r.last_user_text.clone()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let found: Vec<&str> = report.lines().filter(|l| l.starts_with("FOUND")).collect();
    assert!(found.is_empty(), "the session's shell found the token: {found:?}\n{report}");
    let read: usize =
        report.lines().find_map(|l| l.strip_prefix("READ ")).and_then(|n| n.trim().parse().ok()).unwrap_or(0);
    assert!(read >= 4, "the probe read the environments and command lines it could: {report}");
    assert!(report.contains("PLACEHOLDER"), "it read the CLI's environment, which holds the placeholder: {report}");
    // The conversation went through the proxy, with the account's real token.
    let requests = api.requests();
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|r| r.token.as_deref() == Some(token.as_str())), "{requests:?}");
    eprintln!("probe: {read} environments and command lines read, no token found");
}
