//! `cockpit`: the Claude Cockpit control plane.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cockpit_operator::serve::{RuntimeKind, ServeOptions, serve};

/// Run a fleet of Claude Code sessions and steer them from your phone.
#[derive(Parser, Debug)]
#[command(name = "cockpit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one session worker (what `cockpit serve` starts for each session; the same commands
    /// as `cockpit-worker`).
    Worker {
        #[command(subcommand)]
        command: cockpit_worker::args::WorkerCommand,
    },
    /// Serve the API, the session WebSockets and the PWA on one port, running sessions as local
    /// worker processes (the embedded default).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "COCKPIT_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where the SQLite database, worktrees, the Claude home and logs live.
        #[arg(long, env = "COCKPIT_DATA_DIR", default_value = ".cockpit")]
        data_dir: PathBuf,
        /// The YAML config file (repos, accounts, limits).
        #[arg(long, env = "COCKPIT_CONFIG")]
        config: Option<PathBuf>,
        /// The built PWA (default: frontend/dist when it exists).
        #[arg(long, env = "COCKPIT_PWA_DIR")]
        pwa_dir: Option<PathBuf>,
        /// Where sessions run: local worker processes, or Kubernetes pods (in-cluster or with a
        /// kubeconfig).
        #[arg(long, env = "COCKPIT_RUNTIME", value_enum, default_value_t = RuntimeKind::Local)]
        runtime: RuntimeKind,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        // `cockpit worker …` is the session worker itself: one binary serves and runs sessions.
        Command::Worker { command } => cockpit_worker::cli::execute(command, vec!["worker".to_owned()]),
        Command::Serve { listen, data_dir, config, pwa_dir, runtime: runtime_kind } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("COCKPIT_LOG").unwrap_or_else(|_| "info".into()),
                )
                .with_writer(std::io::stderr)
                .init();
            let database_url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
            let pwa_dir =
                pwa_dir.or_else(|| Some(PathBuf::from("frontend/dist")).filter(|d| d.join("index.html").exists()));
            limit_malloc_arenas();
            // Before any thread: the accounts' token variables into memory, out of the environment.
            let token_vars: Vec<String> = config
                .as_ref()
                .and_then(|path| cockpit_operator::config::Config::load(path).ok())
                .map(|c| {
                    c.accounts
                        .iter()
                        .filter_map(|a| match &a.token {
                            cockpit_operator::config::TokenSource::Env(var) => Some(var.clone()),
                            cockpit_operator::config::TokenSource::File(_) => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            // SAFETY: no other thread exists yet (the runtime starts below).
            unsafe { cockpit_operator::env_secrets::capture(token_vars.iter().map(String::as_str)) };
            // It holds the key every worker credential derives from (and the accounts' tokens):
            // a same-user process (a session's tools) may not read its memory or environment.
            if let Err(err) = cockpit_worker::auth::forbid_inspection() {
                eprintln!("cockpit: cannot mark the process non-dumpable: {err}");
                return ExitCode::FAILURE;
            }
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(err) => {
                    eprintln!("cockpit: cannot start the async runtime: {err}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(serve(ServeOptions {
                listen,
                data_dir,
                config,
                database_url,
                pwa_dir,
                runtime: runtime_kind,
            })) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("cockpit: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Two malloc arenas instead of glibc's eight per core: the control plane's threads (tokio's,
/// SQLite's) then share freed memory instead of each keeping its own (measured with the
/// fan-out benchmark: 3–5 MiB less at 500 clients, more under floods).
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning; it is called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
