//! `cockpit-worker`: one Claude Code CLI in a PTY, served over WebSocket.

fn main() -> std::process::ExitCode {
    cockpit_worker::cli::main(std::env::args_os())
}
