//! The credential each worker asks of the control plane (see `cockpit_worker::auth`).
//!
//! One key, made at the first start and kept in the database's `settings` (in the data dir,
//! which no worker Pod mounts), derives every session's credential (HKDF-SHA256 over the
//! session's uid): a restarted control plane derives it again to re-adopt a worker, and
//! nothing per worker is written anywhere. The credential reaches a local worker on its
//! standard input and a worker Pod from a Secret only that session's Pods reference; it is never
//! in an argument list, a log or an API response.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cockpit_worker::auth::WorkerCredential;
use hkdf::Hkdf;
use sha2::Sha256;

use crate::store::{Store, StoreError};

/// The `settings` key the derivation key is kept under.
const KEY_SETTING: &str = "worker_credential_key";

/// Derives workers' credentials. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct WorkerKeys {
    key: [u8; 32],
}

impl std::fmt::Debug for WorkerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkerKeys(<redacted>)")
    }
}

/// Why the key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum WorkerKeyError {
    /// The database failed.
    #[error("the worker credential key: {0}")]
    Store(#[from] StoreError),
    /// The stored key is not 32 bytes of base64.
    #[error("the stored worker credential key is damaged (not 32 bytes of base64)")]
    Damaged,
}

impl WorkerKeys {
    /// A fixed key (tests, benches).
    pub fn from_key(key: [u8; 32]) -> WorkerKeys {
        WorkerKeys { key }
    }

    /// The key kept in `store`, made (random) and kept on first use.
    pub async fn load_or_create(store: &Store) -> Result<WorkerKeys, WorkerKeyError> {
        if let Some(stored) = store.get_setting(KEY_SETTING).await? {
            let bytes = URL_SAFE_NO_PAD.decode(stored.trim()).map_err(|_| WorkerKeyError::Damaged)?;
            let key: [u8; 32] = bytes.try_into().map_err(|_| WorkerKeyError::Damaged)?;
            return Ok(WorkerKeys { key });
        }
        let key: [u8; 32] = rand::random();
        store.set_setting(KEY_SETTING, &URL_SAFE_NO_PAD.encode(key)).await?;
        Ok(WorkerKeys { key })
    }

    /// The credential of the workers of the session with this uid (the session's id locally,
    /// `metadata.uid` in Kubernetes).
    pub fn credential(&self, session_uid: &cockpit_api::ids::SessionId) -> WorkerCredential {
        let mut out = [0u8; 32];
        let info = format!("cockpit worker credential v1:{session_uid}");
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
        let _ = Hkdf::<Sha256>::new(None, &self.key).expand(info.as_bytes(), &mut out);
        WorkerCredential::from_bytes(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_session_gets_its_own_stable_credential_from_the_key() {
        let keys = WorkerKeys::from_key([7; 32]);
        let a = keys.credential(&"session-a".into());
        assert_eq!(a.expose(), keys.credential(&"session-a".into()).expose(), "derived again after a restart");
        assert_ne!(a.expose(), keys.credential(&"session-b".into()).expose());
        assert_ne!(a.expose(), WorkerKeys::from_key([8; 32]).credential(&"session-a".into()).expose());
        assert_eq!(a.expose().len(), 64);
        assert_eq!(format!("{keys:?}"), "WorkerKeys(<redacted>)");
    }
}
