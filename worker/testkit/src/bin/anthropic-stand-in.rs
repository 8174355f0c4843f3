//! `anthropic-stand-in --listen 127.0.0.1:PORT`: runs the scripted Messages
//! API stand-in as a process (for browser end-to-end tests). Prints
//! `listening on http://ADDR` on stdout once bound, then one JSON line per
//! answered request on stderr.
//!
//! Commands on stdin, one per line, each answered with `ok` or `error: …` on
//! stdout: `limit TOKEN [session|weekly|opus]` (every later request with that
//! token answers 429 with that usage limit; `session` by default) and
//! `clear TOKEN`.

use std::io::Write;

use cockpit_testkit::server::LimitsHandle;
use cockpit_testkit::{StandIn, Window};
use tokio::io::AsyncBufReadExt;

fn listen_arg() -> anyhow::Result<std::net::SocketAddr> {
    let mut args = std::env::args().skip(1);
    let mut listen = "127.0.0.1:0".to_string();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or_else(|| anyhow::anyhow!("--listen needs ADDR:PORT"))?,
            s if s.starts_with("--listen=") => listen = s["--listen=".len()..].to_string(),
            "-h" | "--help" => {
                println!("usage: anthropic-stand-in [--listen 127.0.0.1:PORT]");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?}"),
        }
    }
    Ok(listen.parse()?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = listen_arg()?;
    let mut stand_in = StandIn::start_on(addr).await?;
    println!("listening on {}", stand_in.base_url());
    std::io::stdout().flush()?;
    let log = tokio::spawn({
        let requests = stand_in.requests_handle();
        async move {
            let mut seen = 0;
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let all = requests();
                for r in all.iter().skip(seen) {
                    eprintln!("{}", serde_json::to_string(r).unwrap_or_default());
                }
                seen = all.len();
            }
        }
    });
    let _guard = AbortOnDrop(log);
    let _commands = AbortOnDrop(tokio::spawn(commands(stand_in.limits_handle())));
    tokio::select! {
        r = stand_in.serve_forever() => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// Applies the commands read from stdin (see the module docs).
async fn commands(limits: LimitsHandle) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            [] => continue,
            ["limit", token] => {
                limits.limit_token(token, Window::Session);
                "ok".to_string()
            }
            ["limit", token, window] => match window.parse::<Window>() {
                Ok(window) => {
                    limits.limit_token(token, window);
                    "ok".to_string()
                }
                Err(err) => format!("error: {err}"),
            },
            ["clear", token] => {
                limits.clear_limit(token);
                "ok".to_string()
            }
            _ => format!("error: unknown command {line:?} (limit TOKEN [WINDOW] | clear TOKEN)"),
        };
        println!("{answer}");
        let _ = std::io::stdout().flush();
    }
}

/// Stops a task when `main` returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
