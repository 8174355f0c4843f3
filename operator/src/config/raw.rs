//! The file as written: every key optional so that errors can be precise.

use std::path::PathBuf;

use serde::Deserialize;

use super::CredentialKind;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawConfig {
    pub(super) repos: Option<Vec<RawRepo>>,
    pub(super) accounts: Option<Vec<RawAccount>>,
    pub(super) limits: Option<RawLimits>,
    pub(super) worker: Option<RawWorker>,
    pub(super) allowed_origins: Option<Vec<String>>,
    pub(super) default_permission_mode: Option<cockpit_api::PermissionMode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawRepo {
    pub(super) name: String,
    pub(super) path: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawAccount {
    pub(super) name: String,
    pub(super) token_env: Option<String>,
    pub(super) token_file: Option<PathBuf>,
    pub(super) priority: Option<i32>,
    pub(super) kind: Option<CredentialKind>,
    pub(super) max_sessions: Option<u32>,
    pub(super) rotate_at: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawLimits {
    pub(super) max_concurrent_sessions: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawWorker {
    pub(super) command: Option<String>,
    pub(super) bin: Option<PathBuf>,
    pub(super) ring_bytes: Option<u64>,
}
