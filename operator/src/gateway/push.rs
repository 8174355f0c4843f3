//! `/api/push/...`: Web Push for the PWA — the VAPID public key, the devices' subscriptions,
//! and a test notification.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use chrono::Utc;
use cockpit_api::api::{PushKey, PushSubscribed, PushSubscriptionJson, PushTestReport, PushUnsubscribe};

use super::error::{Body, Failure};
use super::security::actor;
use crate::app::App;
use crate::push::rules::Notification;
use crate::push::send::{deliver_all, endpoint_host};
use crate::push::vapid::Vapid;
use crate::store::PushSubscriptionRow;

/// Longest endpoint accepted.
pub const MAX_ENDPOINT_LEN: usize = 2048;

async fn audit(app: &App, headers: &HeaderMap, action: &str, detail: serde_json::Value) {
    if let Err(err) = app.store.audit(Utc::now(), actor(headers).as_deref(), action, None, &detail).await {
        tracing::warn!(%err, "writing the audit log");
    }
}

async fn vapid(app: &App) -> Result<Vapid, Failure> {
    Vapid::load_or_create(&app.store).await.map_err(Failure::internal)
}

/// `GET /api/push/key`.
pub async fn key(State(app): State<Arc<App>>) -> Result<Json<PushKey>, Failure> {
    let subject_set = crate::push::subject(&app.config) != crate::push::vapid::FALLBACK_SUBJECT;
    Ok(Json(PushKey { public_key: vapid(&app).await?.public_key_base64(), subject_set }))
}

/// Decodes base64url (or standard base64), with or without padding.
fn decode_key(text: &str) -> Option<Vec<u8>> {
    let text = text.trim().trim_end_matches('=');
    URL_SAFE_NO_PAD.decode(text).or_else(|_| STANDARD_NO_PAD.decode(text)).ok()
}

/// Checks a subscription and gives the row to store (keys normalised to base64url).
pub fn validate(body: &PushSubscriptionJson) -> Result<PushSubscriptionRow, String> {
    let endpoint = body.endpoint.trim();
    if endpoint.is_empty() || endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(format!("`endpoint` must be a URL of 1 to {MAX_ENDPOINT_LEN} characters"));
    }
    let url = reqwest::Url::parse(endpoint).map_err(|err| format!("`endpoint` is not a URL ({err})"))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    match url.scheme() {
        "https" if !host.is_empty() => {}
        "http" if loopback => {}
        _ => return Err("`endpoint` must be an https URL (http only on 127.0.0.1 or localhost)".into()),
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err("`endpoint` must not carry credentials or a fragment".into());
    }
    let p256dh = decode_key(&body.keys.p256dh)
        .filter(|k| k.len() == 65 && k[0] == 0x04 && p256::PublicKey::from_sec1_bytes(k).is_ok())
        .ok_or("`keys.p256dh` must be an uncompressed P-256 public key (65 bytes, base64url)")?;
    let auth = decode_key(&body.keys.auth)
        .filter(|a| a.len() == 16)
        .ok_or("`keys.auth` must be a 16-byte authentication secret (base64url)")?;
    Ok(PushSubscriptionRow {
        endpoint: endpoint.to_owned(),
        p256dh: URL_SAFE_NO_PAD.encode(p256dh),
        auth: URL_SAFE_NO_PAD.encode(auth),
        created_at: Utc::now(),
    })
}

/// `POST /api/push/subscriptions`: store a device's subscription (again: its keys are
/// replaced).
pub async fn subscribe(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Body(body): Body<PushSubscriptionJson>,
) -> Result<Response, Failure> {
    let row = validate(&body).map_err(Failure::bad_request)?;
    app.store.add_push_subscription(&row).await?;
    let push_service = endpoint_host(&row.endpoint);
    tracing::info!(%push_service, "a device subscribed to notifications");
    audit(&app, &headers, "push.subscribe", serde_json::json!({ "pushService": push_service })).await;
    Ok((StatusCode::CREATED, Json(PushSubscribed { push_service })).into_response())
}

/// `DELETE /api/push/subscriptions`: stop sending to a device.
pub async fn unsubscribe(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Body(body): Body<PushUnsubscribe>,
) -> Result<StatusCode, Failure> {
    if body.endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(Failure::bad_request(format!("`endpoint` is longer than {MAX_ENDPOINT_LEN} characters")));
    }
    if !app.store.remove_push_subscription(body.endpoint.trim()).await? {
        return Err(Failure::not_found("no subscription with this endpoint"));
    }
    let push_service = endpoint_host(&body.endpoint);
    audit(&app, &headers, "push.unsubscribe", serde_json::json!({ "pushService": push_service })).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/push/test`: sends a test notification to every device and says what became
/// of it.
pub async fn test(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<PushTestReport>, Failure> {
    let vapid = vapid(&app).await?;
    let subscriptions = u32::try_from(app.store.list_push_subscriptions().await?.len()).unwrap_or(u32::MAX);
    let subject = crate::push::subject(&app.config);
    let report = deliver_all(&vapid, &subject, &app.store, &Notification::test()).await;
    audit(&app, &headers, "push.test", serde_json::json!({ "subscriptions": subscriptions })).await;
    Ok(Json(PushTestReport {
        subscriptions,
        delivered: report.delivered,
        removed: report.removed,
        failed: report.failed,
    }))
}

#[cfg(test)]
mod tests {
    use cockpit_api::api::PushKeys;
    use p256::SecretKey;
    use p256::elliptic_curve::Generate;
    use p256::elliptic_curve::sec1::ToSec1Point;

    use super::*;

    fn body(endpoint: &str, p256dh: &str, auth: &str) -> PushSubscriptionJson {
        PushSubscriptionJson {
            endpoint: endpoint.into(),
            expiration_time: None,
            keys: PushKeys { p256dh: p256dh.into(), auth: auth.into() },
        }
    }

    #[test]
    fn subscriptions_are_checked() {
        let point = SecretKey::generate().public_key().to_sec1_point(false).as_bytes().to_vec();
        let key = URL_SAFE_NO_PAD.encode(&point);
        let auth = URL_SAFE_NO_PAD.encode([9u8; 16]);
        let ok = validate(&body("https://fcm.googleapis.com/fcm/send/x", &key, &auth)).expect("valid");
        assert_eq!((ok.p256dh.as_str(), ok.auth.as_str()), (key.as_str(), auth.as_str()));
        let padded = base64::engine::general_purpose::STANDARD.encode(&point);
        let again = validate(&body("http://127.0.0.1:9/p", &padded, &format!("{auth}=="))).expect("padding is fine");
        assert_eq!(again.p256dh, key, "normalised to base64url");
        assert!(validate(&body("http://localhost/p", &key, &auth)).is_ok());

        let mut off_curve = point.clone();
        off_curve[64] ^= 1;
        let off_curve = URL_SAFE_NO_PAD.encode(off_curve);
        let compressed = URL_SAFE_NO_PAD.encode(SecretKey::generate().public_key().to_sec1_point(true).as_bytes());
        let cases = [
            (body("http://push.example/p", &key, &auth), "https"),
            (body("ftp://push.example/p", &key, &auth), "https"),
            (body("not a url", &key, &auth), "not a URL"),
            (body("", &key, &auth), "endpoint"),
            (body(&format!("https://push.example/{}", "a".repeat(2100)), &key, &auth), "2048"),
            (body("https://user:pw@push.example/p", &key, &auth), "credentials"),
            (body("https://push.example/p", &off_curve, &auth), "p256dh"),
            (body("https://push.example/p", &compressed, &auth), "p256dh"),
            (body("https://push.example/p", "!!!", &auth), "p256dh"),
            (body("https://push.example/p", &key, &URL_SAFE_NO_PAD.encode([1u8; 15])), "auth"),
            (body("https://push.example/p", &key, ""), "auth"),
        ];
        for (bad, words) in cases {
            let err = validate(&bad).expect_err("refused");
            assert!(err.contains(words), "{bad:?}: {err}");
        }
    }
}
