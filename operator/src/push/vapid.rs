//! VAPID (RFC 8292): the application server's P-256 key pair, made once and kept in the
//! `settings` table, and the ES256-signed JWT that identifies this server to push services.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::Generate;

use crate::store::{Store, StoreError};

/// The `settings` key the private key is kept under (base64url of the 32-byte scalar).
pub const PRIVATE_KEY_SETTING: &str = "vapid_private_key";

/// How long a signed token is valid (RFC 8292 allows at most 24 hours).
pub const TOKEN_LIFETIME: Duration = Duration::hours(12);

/// The environment variable naming the JWT `sub` (a `mailto:` or `https:` contact).
pub const SUBJECT_ENV: &str = "COCKPIT_VAPID_SUBJECT";

/// The `sub` used when nothing better is known. Apple's push service refuses subjects it
/// cannot resolve (a `localhost` one among them): set [`SUBJECT_ENV`] for iPhones.
pub const FALLBACK_SUBJECT: &str = "mailto:cockpit@localhost";

/// What can go wrong with the VAPID key or a token.
#[derive(Debug, thiserror::Error)]
pub enum VapidError {
    /// The stored private key does not decode to a P-256 scalar.
    #[error(
        "the stored VAPID private key (settings `{PRIVATE_KEY_SETTING}`) is not a valid P-256 key; delete that row to make a new one (every device then has to enable notifications again)"
    )]
    BadStoredKey,
    /// The operating system's random number generator failed.
    #[error("no randomness from the operating system for a new VAPID key")]
    Random,
    /// The endpoint is not a URL with a host.
    #[error("the push endpoint is not an absolute URL with a host")]
    BadEndpoint,
    /// Reading or writing the settings failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The application server's key pair.
#[derive(Clone)]
pub struct Vapid {
    key: SigningKey,
    public: [u8; 65],
}

impl std::fmt::Debug for Vapid {
    /// Shows the public key only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vapid").field("public_key", &self.public_key_base64()).finish_non_exhaustive()
    }
}

impl Vapid {
    /// A new random key pair.
    pub fn generate() -> Result<Vapid, VapidError> {
        let key = SigningKey::try_generate().map_err(|_| VapidError::Random)?;
        Ok(Vapid::from_key(key))
    }

    /// The key pair of a 32-byte private scalar.
    pub fn from_private_bytes(bytes: &[u8]) -> Result<Vapid, VapidError> {
        if bytes.len() != 32 {
            return Err(VapidError::BadStoredKey);
        }
        let key = SigningKey::from_slice(bytes).map_err(|_| VapidError::BadStoredKey)?;
        Ok(Vapid::from_key(key))
    }

    fn from_key(key: SigningKey) -> Vapid {
        let point = key.verifying_key().to_sec1_point(false);
        let mut public = [0u8; 65];
        // An uncompressed P-256 point is always 65 bytes.
        public.copy_from_slice(point.as_bytes());
        Vapid { key, public }
    }

    /// The key kept in the settings, or a new one stored there first (once, on the first
    /// start; every later start and restart reuses it, so subscriptions stay valid).
    pub async fn load_or_create(store: &Store) -> Result<Vapid, VapidError> {
        if let Some(stored) = store.get_setting(PRIVATE_KEY_SETTING).await? {
            let bytes = URL_SAFE_NO_PAD.decode(stored.trim()).map_err(|_| VapidError::BadStoredKey)?;
            return Vapid::from_private_bytes(&bytes);
        }
        let vapid = Vapid::generate()?;
        store.set_setting(PRIVATE_KEY_SETTING, &URL_SAFE_NO_PAD.encode(vapid.key.to_bytes())).await?;
        tracing::info!(public_key = %vapid.public_key_base64(), "made the VAPID key pair for Web Push");
        Ok(vapid)
    }

    /// The public key: the uncompressed P-256 point (65 bytes).
    pub fn public_key(&self) -> &[u8; 65] {
        &self.public
    }

    /// The public key as base64url without padding: the browser's `applicationServerKey` and
    /// the `k` of the `Authorization` header.
    pub fn public_key_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public)
    }

    /// A signed JWT (ES256) for pushing to `endpoint`: `aud` is the endpoint's origin, `exp`
    /// [`TOKEN_LIFETIME`] after `now`, `sub` the contact.
    pub fn token(&self, endpoint: &str, subject: &str, now: DateTime<Utc>) -> Result<String, VapidError> {
        let claims = serde_json::json!({
            "aud": audience(endpoint)?,
            "exp": (now + TOKEN_LIFETIME).timestamp(),
            "sub": subject,
        });
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes())))
    }

    /// The `Authorization` header value (RFC 8292 §3): `vapid t=<JWT>, k=<public key>`.
    pub fn authorization(&self, endpoint: &str, subject: &str, now: DateTime<Utc>) -> Result<String, VapidError> {
        Ok(format!("vapid t={}, k={}", self.token(endpoint, subject, now)?, self.public_key_base64()))
    }
}

/// The origin of a push endpoint (`https://fcm.googleapis.com`): the JWT's audience.
pub fn audience(endpoint: &str) -> Result<String, VapidError> {
    let url = reqwest::Url::parse(endpoint).map_err(|_| VapidError::BadEndpoint)?;
    if url.host_str().is_none() {
        return Err(VapidError::BadEndpoint);
    }
    Ok(url.origin().ascii_serialization())
}

/// The JWT `sub`: the environment's [`SUBJECT_ENV`] when it is a `mailto:` or `https:` URI,
/// else the first `https` origin the config allows (the gateway's public URL), else
/// [`FALLBACK_SUBJECT`].
pub fn subject(env: Option<&str>, allowed_origins: &[String]) -> String {
    let contact = |s: &str| s.starts_with("mailto:") && s.len() > 7 || s.starts_with("https://") && s.len() > 8;
    if let Some(value) = env.map(str::trim).filter(|s| contact(s)) {
        return value.to_owned();
    }
    allowed_origins
        .iter()
        .map(|o| o.trim_end_matches('/'))
        .find(|o| o.starts_with("https://") && o.len() > 8)
        .map_or_else(|| FALLBACK_SUBJECT.to_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    use super::*;

    fn decode_json(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
    }

    #[test]
    fn the_token_is_es256_for_the_endpoints_origin_and_expires_within_a_day() {
        let vapid = Vapid::generate().expect("key");
        let now = Utc::now();
        let header = vapid
            .authorization("https://push.example.net:8443/wpush/v2/secret-part", "mailto:me@example.net", now)
            .expect("token");
        let (token, key) = header.strip_prefix("vapid t=").and_then(|r| r.split_once(", k=")).expect("vapid t=…, k=…");
        assert_eq!(key, vapid.public_key_base64());
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(decode_json(parts[0]), serde_json::json!({"typ": "JWT", "alg": "ES256"}));
        let claims = decode_json(parts[1]);
        assert_eq!(claims["aud"], "https://push.example.net:8443");
        assert_eq!(claims["sub"], "mailto:me@example.net");
        let exp = claims["exp"].as_i64().expect("exp");
        assert!(exp > now.timestamp() && exp <= (now + Duration::hours(24)).timestamp());
        let verifying = VerifyingKey::from_sec1_bytes(vapid.public_key()).expect("public key");
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).expect("b64")).expect("64 bytes");
        verifying.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("valid signature");
        assert!(!format!("{vapid:?}").contains(&URL_SAFE_NO_PAD.encode(vapid.key.to_bytes())), "Debug hides the key");
    }

    #[test]
    fn audiences_are_origins() {
        assert_eq!(audience("https://fcm.googleapis.com/fcm/send/abc:def").expect("aud"), "https://fcm.googleapis.com");
        assert_eq!(audience("https://web.push.apple.com:443/Qx").expect("aud"), "https://web.push.apple.com");
        assert_eq!(audience("http://127.0.0.1:4000/p/1").expect("aud"), "http://127.0.0.1:4000");
        assert!(audience("not a url").is_err());
        assert!(audience("mailto:x@y").is_err());
    }

    #[test]
    fn the_private_key_round_trips_and_garbage_is_refused() {
        let vapid = Vapid::generate().expect("key");
        let again = Vapid::from_private_bytes(&vapid.key.to_bytes()).expect("same key");
        assert_eq!(again.public_key(), vapid.public_key());
        assert!(Vapid::from_private_bytes(&[0u8; 32]).is_err(), "zero is no key");
        assert!(Vapid::from_private_bytes(&[1u8; 31]).is_err());
    }

    #[test]
    fn the_subject_prefers_the_environment_then_an_https_origin() {
        let origins = vec!["http://localhost:5173".to_owned(), "https://nuc.tail.ts.net/".to_owned()];
        assert_eq!(subject(Some("mailto:me@example.net"), &origins), "mailto:me@example.net");
        assert_eq!(subject(Some(" https://me.example.net "), &[]), "https://me.example.net");
        assert_eq!(subject(Some("me@example.net"), &origins), "https://nuc.tail.ts.net", "not a URI: ignored");
        assert_eq!(subject(None, &origins), "https://nuc.tail.ts.net");
        assert_eq!(subject(Some("mailto:"), &[]), FALLBACK_SUBJECT);
    }
}
