//! What the benchmarks share: a real `cockpit serve` on a free loopback port, knobs from the
//! environment and a wall clock in microseconds.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, BufReader};

/// Starts `bin serve` with the data dir `<dir>/data` and the config `<dir>/cockpit.yaml`
/// (stderr into `<dir>/cockpit.log`, `env` added); returns the process and its base URL once
/// it listens.
pub async fn serve(bin: &Path, dir: &Path, env: &[(&str, &str)]) -> (tokio::process::Child, String) {
    let log = dir.join("cockpit.log");
    let mut child = tokio::process::Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--config")
        .arg(dir.join("cockpit.yaml"))
        .envs(env.iter().copied())
        .env_remove("DATABASE_URL")
        // Not a checkout: no `frontend/dist` is picked up as the PWA.
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .kill_on_drop(true)
        .spawn()
        .expect("cockpit serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line =
        tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await.expect("address in time").expect("read");
    let base = line.as_deref().and_then(|l| l.strip_prefix("listening on ")).map(str::to_owned);
    let Some(base) = base else {
        panic!("cockpit serve did not start: {line:?}\n{}", std::fs::read_to_string(&log).unwrap_or_default())
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

/// The environment variable `name` parsed, or `default` when it is unset or does not parse.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Microseconds since the Unix epoch (comparable across processes).
pub fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_micros() as u64
}
