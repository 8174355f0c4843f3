//! Writes the generated CRD YAML and TypeScript types into the repository.
//!
//! `cargo run -p cockpit-api --bin crdgen [--check] [ROOT]`: ROOT defaults to the workspace
//! root; with `--check` nothing is written and the exit code says whether the files are current.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: crdgen [--check] [ROOT]");
                return ExitCode::SUCCESS;
            }
            other if other.starts_with('-') => {
                eprintln!("crdgen: unknown option {other:?} (usage: crdgen [--check] [ROOT])");
                return ExitCode::from(2);
            }
            other => root = PathBuf::from(other),
        }
    }
    let files = match cockpit_api::codegen::generated_files() {
        Ok(files) => files,
        Err(err) => {
            eprintln!("crdgen: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut stale = 0;
    for file in files {
        let path = root.join(&file.path);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(file.contents.as_str()) {
            continue;
        }
        if check {
            eprintln!("crdgen: {} is out of date", file.path.display());
            stale += 1;
            continue;
        }
        if let Some(dir) = path.parent()
            && let Err(err) = std::fs::create_dir_all(dir)
        {
            eprintln!("crdgen: creating {}: {err}", dir.display());
            return ExitCode::FAILURE;
        }
        if let Err(err) = std::fs::write(&path, &file.contents) {
            eprintln!("crdgen: writing {}: {err}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", file.path.display());
    }
    if stale > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
