//! Conversation latency benchmark (prints numbers; not a test): a real `cockpit serve` with
//! sessions whose transcripts this process appends to, read by phones over
//! `GET /api/sessions/{id}/conversation` (server-sent events) on loopback.
//!
//! `cargo bench -p cockpit-operator --bench conversation`
//!
//! Each session's worker program only waits; the bench plays the CLI: it appends transcript
//! lines (an assistant message each, as the CLI writes them) at a steady pace, every line
//! stamped with the microseconds since the epoch at which it was written. A phone's delay for
//! an entry is its receive time minus that stamp. Reported: p50 / p99 / max over every entry
//! at every phone, against the target (p99 < 100 ms), and entries missing or seen twice.
//! Knobs (env): CONV_SESSIONS (default 5), CONV_PHONES (per session, default 3), CONV_LINES
//! (per session, default 400), CONV_EVERY_MS (default 10).

mod support;

use support::{env_or, now_us};

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TARGET_P99_MS: f64 = 100.0;
const T: Duration = Duration::from_secs(60);

/// One phone: reads the stream, records (entry key, delay in µs) for every bench entry.
async fn phone(http: reqwest::Client, url: String, expected: usize) -> (Vec<u64>, usize, usize) {
    let mut resp = http.get(&url).send().await.expect("GET conversation");
    assert_eq!(resp.status(), 200, "{url}");
    let (mut buf, mut seen, mut delays, mut repeated) = (String::new(), HashSet::new(), Vec::new(), 0);
    let deadline = Instant::now() + T;
    while seen.len() < expected && Instant::now() < deadline {
        let Ok(Ok(Some(chunk))) = tokio::time::timeout(Duration::from_secs(5), resp.chunk()).await else { break };
        let received = now_us();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else { continue };
            let Ok(batch) = serde_json::from_str::<cockpit_api::conversation::ConversationBatch>(data) else {
                continue;
            };
            for entry in batch.entries {
                let cockpit_api::conversation::ConversationItem::Assistant { text } = &entry.item else { continue };
                let Some(stamp) = text.strip_prefix("stamp ").and_then(|s| s.parse::<u64>().ok()) else { continue };
                if seen.insert(entry.key) {
                    delays.push(received.saturating_sub(stamp));
                } else {
                    repeated += 1;
                }
            }
        }
    }
    let missing = expected - seen.len();
    (delays, missing, repeated)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sessions: usize = env_or("CONV_SESSIONS", 5);
    let phones: usize = env_or("CONV_PHONES", 3);
    let lines: usize = env_or("CONV_LINES", 400);
    let every = Duration::from_millis(env_or("CONV_EVERY_MS", 10));

    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().to_path_buf();
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).expect("repo dir");
    let script = dir.join("wait.sh");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 3600\n").expect("script");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let config =
        format!("repos: [{{name: bench, path: {}}}]\nworker: {{command: {}}}\n", repo.display(), script.display());
    std::fs::write(dir.join("cockpit.yaml"), config).expect("config");
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_cockpit"));
    let (_child, base) = support::serve(&bin, &dir, &[("COCKPIT_LOG", "warn")]).await;
    let http = reqwest::Client::new();

    // Sessions, each with the conversation id Cockpit gave its CLI, and its transcript file.
    let mut transcripts: Vec<PathBuf> = Vec::new();
    let mut readers = Vec::new();
    for n in 0..sessions {
        let name = format!("c{n}");
        let resp = http
            .post(format!("{base}/api/sessions"))
            .json(&serde_json::json!({"repo_name": "bench", "name": name}))
            .send()
            .await
            .expect("POST");
        assert_eq!(resp.status(), 201, "creating {name}");
        let deadline = Instant::now() + T;
        let conversation = loop {
            let view: serde_json::Value =
                http.get(format!("{base}/api/sessions/{name}")).send().await.expect("GET").json().await.expect("json");
            if let Some(id) = view["status"]["claudeSessionId"].as_str() {
                break id.to_owned();
            }
            assert!(Instant::now() < deadline, "no conversation id for {name}: {view:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let project = dir.join("data/claude-home/projects/-bench");
        std::fs::create_dir_all(&project).expect("projects");
        let file = project.join(format!("{conversation}.jsonl"));
        std::fs::write(&file, "").expect("transcript");
        transcripts.push(file);
        for _ in 0..phones {
            let url = format!("{base}/api/sessions/{name}/conversation");
            readers.push(tokio::spawn(phone(http.clone(), url, lines)));
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // every phone connected

    println!(
        "cockpit serve at {base}: {sessions} sessions x {phones} phones; {lines} transcript lines per session, one every {} ms",
        every.as_millis()
    );
    let writer = tokio::task::spawn_blocking(move || {
        let mut files: Vec<std::fs::File> = transcripts
            .iter()
            .map(|p| std::fs::OpenOptions::new().append(true).open(p).expect("open transcript"))
            .collect();
        for i in 0..lines {
            for file in &mut files {
                let line = serde_json::json!({
                    "type": "assistant",
                    "uuid": uuid::Uuid::new_v4().to_string(),
                    "timestamp": chrono::Utc::now().to_rfc3339(),
                    "message": {"role": "assistant", "content": [{"type": "text", "text": format!("stamp {}", now_us())}]},
                });
                writeln!(file, "{line}").expect("append");
            }
            if i + 1 < lines {
                std::thread::sleep(every);
            }
        }
    });
    writer.await.expect("writer");

    let (mut delays, mut missing, mut repeated) = (Vec::new(), 0, 0);
    for reader in readers {
        let (d, m, r) = reader.await.expect("phone");
        delays.extend(d);
        missing += m;
        repeated += r;
    }
    delays.sort_unstable();
    let (p50, p99, max) = (percentile(&delays, 0.5), percentile(&delays, 0.99), percentile(&delays, 1.0));
    println!("entries received: {} (missing {missing}, twice {repeated})", delays.len());
    println!("transcript line → phone: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms");
    let pass = p99 < TARGET_P99_MS && missing == 0 && repeated == 0;
    println!(
        "target: p99 < {TARGET_P99_MS} ms, nothing missing, nothing twice: {}",
        if pass { "PASS" } else { "MISS" }
    );
}
