//! The browser's side of Web Push, for tests: a stand-in push service (axum on loopback)
//! that records what the control plane POSTs, and devices with their own P-256 key pair and
//! auth secret that check the VAPID signature (RFC 8292) and decrypt the payload (RFC 8291,
//! RFC 8188) from the receiving end — written apart from the sender's code.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;
use tokio::sync::mpsc;

/// One message the push service received.
#[derive(Clone, Debug)]
pub struct Received {
    /// The device the endpoint belongs to (`/push/{device}`).
    pub device: String,
    /// The request headers.
    pub headers: HeaderMap,
    /// The encrypted body.
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone, Default)]
struct Shared {
    answers: Arc<Mutex<HashMap<String, u16>>>,
    tx: Arc<Mutex<Option<mpsc::UnboundedSender<Received>>>>,
}

/// A stand-in push service on 127.0.0.1: `POST /push/{device}` records the message and answers
/// 201, or the status set for that device.
pub struct PushService {
    pub addr: SocketAddr,
    shared: Shared,
    rx: mpsc::UnboundedReceiver<Received>,
    task: tokio::task::JoinHandle<()>,
}

async fn receive(
    State(shared): State<Shared>,
    Path(device): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let status = shared.answers.lock().expect("lock").get(&device).copied().unwrap_or(201);
    if let Some(tx) = shared.tx.lock().expect("lock").as_ref() {
        let _ = tx.send(Received { device, headers, body });
    }
    StatusCode::from_u16(status).expect("a status")
}

impl PushService {
    pub async fn start() -> PushService {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Shared::default();
        *shared.tx.lock().expect("lock") = Some(tx);
        let app = axum::Router::new().route("/push/{device}", axum::routing::post(receive)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        PushService { addr, shared, rx, task }
    }

    /// The origin (the VAPID audience expected).
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes the service answer `status` for `device` from now on.
    pub fn answer(&self, device: &str, status: u16) {
        self.shared.answers.lock().expect("lock").insert(device.to_owned(), status);
    }

    /// A new device subscribed at this service.
    pub fn device(&self, name: &str) -> Device {
        Device::new(format!("{}/push/{name}", self.origin()))
    }

    /// The next message received (panics after 60 s).
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(60), self.rx.recv())
            .await
            .expect("a push message in time")
            .expect("the push service runs")
    }

    /// Messages received so far and not yet taken.
    pub fn drain(&mut self) -> Vec<Received> {
        let mut out = Vec::new();
        while let Ok(msg) = self.rx.try_recv() {
            out.push(msg);
        }
        out
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A browser's subscription: its ECDH key pair and auth secret.
pub struct Device {
    pub endpoint: String,
    secret: SecretKey,
    pub auth: [u8; 16],
}

impl Device {
    pub fn new(endpoint: String) -> Device {
        Device { endpoint, secret: SecretKey::generate(), auth: <[u8; 16]>::generate() }
    }

    /// The uncompressed public point (65 bytes).
    pub fn public(&self) -> Vec<u8> {
        self.secret.public_key().to_sec1_point(false).as_bytes().to_vec()
    }

    /// What `PushSubscription.toJSON()` gives for this device.
    pub fn subscription(&self) -> serde_json::Value {
        serde_json::json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": { "p256dh": URL_SAFE_NO_PAD.encode(self.public()), "auth": URL_SAFE_NO_PAD.encode(self.auth) },
        })
    }

    /// Checks the message's headers and VAPID token (signed by `server_key`, for `audience`),
    /// decrypts it, and returns the notification JSON.
    pub fn open(&self, msg: &Received, server_key: &str, audience: &str) -> serde_json::Value {
        assert_eq!(msg.header("content-encoding"), Some("aes128gcm"));
        let ttl: u64 = msg.header("ttl").and_then(|t| t.parse().ok()).expect("a numeric TTL");
        assert!(ttl > 0);
        assert!(matches!(msg.header("urgency"), Some("very-low" | "low" | "normal" | "high")), "{msg:?}");
        verify_vapid(msg.header("authorization").expect("Authorization"), server_key, audience);
        let plain = decrypt(&msg.body, &self.secret, &self.auth);
        serde_json::from_slice(&plain).expect("the payload is JSON")
    }
}

/// Checks `vapid t=JWT, k=KEY`: `k` is `server_key`, the JWT is ES256-signed by it, `aud` is
/// `audience`, `exp` is in the next 24 hours, `sub` a mailto: or https: URI. Returns the claims.
pub fn verify_vapid(header: &str, server_key: &str, audience: &str) -> serde_json::Value {
    let params = header.strip_prefix("vapid ").unwrap_or_else(|| panic!("not a vapid Authorization: {header}"));
    let mut token = None;
    let mut key = None;
    for param in params.split(',') {
        match param.trim().split_once('=') {
            Some(("t", value)) => token = Some(value.trim()),
            Some(("k", value)) => key = Some(value.trim()),
            _ => panic!("unexpected parameter in {header}"),
        }
    }
    let (token, key) = (token.expect("t="), key.expect("k="));
    assert_eq!(key, server_key, "k is the key GET /api/push/key gives");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS compact token");
    let json = |part: &str| -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
    };
    let head = json(parts[0]);
    assert_eq!(head["alg"], "ES256");
    let claims = json(parts[1]);
    assert_eq!(claims["aud"], audience);
    let exp = claims["exp"].as_i64().expect("exp");
    let now = chrono::Utc::now().timestamp();
    assert!(exp > now && exp <= now + 24 * 3600, "exp within 24 h: {claims}");
    let sub = claims["sub"].as_str().expect("sub");
    assert!(sub.starts_with("mailto:") || sub.starts_with("https://"), "{sub}");
    let verifying = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(key).expect("key")).expect("a P-256 key");
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).expect("b64")).expect("r || s");
    verifying.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("the JWT signature verifies");
    claims
}

/// Decrypts an `aes128gcm` message (RFC 8188) with the keys RFC 8291 derives on the
/// receiving side, record by record, and removes the padding.
pub fn decrypt(body: &[u8], ua_secret: &SecretKey, auth: &[u8]) -> Vec<u8> {
    assert!(body.len() > 21, "shorter than a header");
    let salt = &body[..16];
    let rs = u32::from_be_bytes(body[16..20].try_into().expect("4 bytes")) as usize;
    let idlen = body[20] as usize;
    assert!(rs >= 18, "record size {rs}");
    assert_eq!(idlen, 65, "the key id is the sender's uncompressed public key");
    let as_public = &body[21..21 + idlen];
    let records = &body[21 + idlen..];

    // The receiver's ECDH: its private key with the sender's public key from the header.
    let sender = PublicKey::from_sec1_bytes(as_public).expect("the key id is a P-256 point");
    let ecdh = p256::ecdh::diffie_hellman(ua_secret.to_nonzero_scalar(), sender.as_affine());
    let ua_public = ua_secret.public_key().to_sec1_point(false);
    let mut info = b"WebPush: info\0".to_vec();
    info.extend_from_slice(ua_public.as_bytes());
    info.extend_from_slice(as_public);
    let (_, prk_key) = Hkdf::<Sha256>::extract(Some(auth), ecdh.raw_secret_bytes().as_slice());
    let mut ikm = [0u8; 32];
    prk_key.expand(&info, &mut ikm).expect("32 bytes");
    let (_, prk) = Hkdf::<Sha256>::extract(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut base_nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).expect("16 bytes");
    prk.expand(b"Content-Encoding: nonce\0", &mut base_nonce).expect("12 bytes");

    let cipher = Aes128Gcm::new_from_slice(&cek).expect("a 16-byte key");
    let chunks: Vec<&[u8]> = records.chunks(rs).collect();
    assert!(!chunks.is_empty(), "no record");
    let mut plain = Vec::new();
    for (seq, chunk) in chunks.iter().enumerate() {
        let mut nonce = base_nonce;
        for (i, byte) in (seq as u128).to_be_bytes()[4..].iter().enumerate() {
            nonce[i] ^= byte;
        }
        let nonce = Nonce::try_from(&nonce[..]).expect("12 bytes");
        let mut record = cipher.decrypt(&nonce, Payload { msg: chunk, aad: b"" }).expect("the record authenticates");
        // Padding: zeros after a delimiter, 2 for the last record and 1 before it.
        while record.last() == Some(&0) {
            record.pop();
        }
        let last = seq + 1 == chunks.len();
        assert_eq!(record.pop(), Some(if last { 2 } else { 1 }), "the padding delimiter of record {seq}");
        plain.extend_from_slice(&record);
    }
    plain
}

/// This decryption against RFC 8291 Appendix A (so that the tests' browser is right too).
pub fn check_decrypt_against_rfc_8291() {
    let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).expect("base64url");
    let ua = SecretKey::from_slice(&b64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94")).expect("key");
    let message = b64(concat!(
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml",
        "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT",
        "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
    ));
    let plain = decrypt(&message, &ua, &b64("BTBZMqHH6r4Tts7J_aSIgg"));
    assert_eq!(plain, b"When I grow up, I want to be a watermelon");
}
