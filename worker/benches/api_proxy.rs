//! API proxy benchmark (not a test): what the credential-injecting proxy adds between the CLI
//! and the API, against the tests' stand-in for the Messages API on 127.0.0.1.
//!
//! Run: `cargo bench -p cockpit-worker --bench api_proxy` (under a minute).
//!
//! - First byte: a streamed `POST /v1/messages` (`"stream": true`), timed from sending to the
//!   first body bytes, straight to the stand-in and through `cockpit-worker proxy` (the release
//!   binary cargo builds for this bench), interleaved; 100 warm-up + 1000 samples each.
//! - Throughput: a 1.5 MB request body (a long user message; the stand-in takes up to 2 MiB)
//!   posted and answered, straight and through the proxy; MB/s of the upload, median of 15.
//!
//! Targets (issue "Sessions hold no account token"): the proxy adds < 2 ms to the p99 first
//! byte, and keeps ≥ 90 % of the direct throughput.

use std::time::{Duration, Instant};

use cockpit_testkit::StandIn;

const WARMUP: usize = 100;
const SAMPLES: usize = 1000;
const UPLOAD_BYTES: usize = 1_500_000;
const UPLOAD_RUNS: usize = 15;
const TOKEN: &str = "sk-ant-oat01-bench-token";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn first_byte(client: &reqwest::Client, base: &str, auth: bool) -> Result<(f64, f64), reqwest::Error> {
    let body = serde_json::json!({
        "model": "claude-sonnet-4-5", "max_tokens": 64, "stream": true,
        "messages": [{"role": "user", "content": "hello"}],
    });
    let mut request = client
        .post(format!("{base}/v1/messages"))
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json");
    request = if auth {
        request.header("authorization", format!("Bearer {TOKEN}"))
    } else {
        request.header("authorization", "Bearer sk-ant-oat01-placeholder")
    };
    let started = Instant::now();
    let mut response = request.body(body.to_string()).send().await?;
    let _ = response.chunk().await?;
    let first = started.elapsed().as_secs_f64() * 1e3;
    while response.chunk().await?.is_some() {}
    Ok((first, started.elapsed().as_secs_f64() * 1e3))
}

async fn upload(client: &reqwest::Client, base: &str) -> Result<f64, reqwest::Error> {
    let text = "a".repeat(UPLOAD_BYTES);
    let body = serde_json::json!({
        "model": "claude-sonnet-4-5", "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
    })
    .to_string();
    let bytes = body.len() as f64;
    let started = Instant::now();
    let response = client
        .post(format!("{base}/v1/messages"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let _ = response.bytes().await?;
    Ok(bytes / 1e6 / started.elapsed().as_secs_f64())
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let api = StandIn::start().await.expect("stand-in");
        let dir = tempfile::tempdir().expect("temp dir");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, TOKEN).expect("token file");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let mut proxy = tokio::process::Command::new(env!("CARGO_BIN_EXE_cockpit-worker"))
            .args(["proxy", "--listen", &format!("127.0.0.1:{port}"), "--upstream", &api.base_url()])
            .arg("--token-file")
            .arg(&token_file)
            .env("COCKPIT_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the proxy starts");
        let stdout = proxy.stdout.take().expect("stdout");
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
        let _ = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await;
        let proxied = format!("http://127.0.0.1:{port}");
        let direct = api.base_url();
        let client = reqwest::Client::builder().tcp_nodelay(true).build().expect("client");

        let (mut direct_first, mut proxy_first, mut direct_total, mut proxy_total) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..WARMUP + SAMPLES {
            let (d_first, d_total) = first_byte(&client, &direct, true).await.expect("direct");
            let (p_first, p_total) = first_byte(&client, &proxied, false).await.expect("proxied");
            if i >= WARMUP {
                direct_first.push(d_first);
                proxy_first.push(p_first);
                direct_total.push(d_total);
                proxy_total.push(p_total);
            }
        }
        let injected = api.requests().iter().filter(|r| r.token.as_deref() == Some(TOKEN)).count();
        assert_eq!(injected, api.requests().len(), "every request carried the real token");
        for v in [&mut direct_first, &mut proxy_first, &mut direct_total, &mut proxy_total] {
            v.sort_by(f64::total_cmp);
        }
        let mut direct_up = Vec::new();
        let mut proxy_up = Vec::new();
        for _ in 0..UPLOAD_RUNS {
            direct_up.push(upload(&client, &direct).await.expect("direct upload"));
            proxy_up.push(upload(&client, &proxied).await.expect("proxied upload"));
        }
        direct_up.sort_by(f64::total_cmp);
        proxy_up.sort_by(f64::total_cmp);

        println!("API proxy benchmark ({SAMPLES} streamed requests each, interleaved)");
        println!("                      direct      proxied     added");
        for (name, d, p) in
            [("first byte p50", &direct_first, &proxy_first), ("full answer p50", &direct_total, &proxy_total)]
        {
            let (d, p) = (percentile(d, 0.5), percentile(p, 0.5));
            println!("{name:<20} {d:>8.3} ms {p:>8.3} ms {:>+8.3} ms", p - d);
        }
        let (d99, p99) = (percentile(&direct_first, 0.99), percentile(&proxy_first, 0.99));
        println!("{:<20} {d99:>8.3} ms {p99:>8.3} ms {:>+8.3} ms", "first byte p99", p99 - d99);
        let (du, pu) = (direct_up[UPLOAD_RUNS / 2], proxy_up[UPLOAD_RUNS / 2]);
        println!("{:<20} {du:>8.1} MB/s {pu:>6.1} MB/s {:>7.0} %", "1.5 MB upload", pu / du * 100.0);
        let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
        println!("target: first byte p99 added < 2 ms: {:.3} ms {}", p99 - d99, verdict(p99 - d99 < 2.0));
        println!("target: throughput ≥ 90 % of direct: {:.0} % {}", pu / du * 100.0, verdict(pu / du >= 0.9));
    });
}
