//! `anthropic-stand-in --listen 127.0.0.1:PORT`: runs the scripted Messages
//! API stand-in as a process (for browser end-to-end tests). Prints
//! `listening on http://ADDR` on stdout once bound, then one JSON line per
//! answered request on stderr.

use std::io::Write;

use cockpit_testkit::StandIn;

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
    tokio::select! {
        r = stand_in.serve_forever() => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// Stops the logging task when `main` returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
