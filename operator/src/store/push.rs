//! The `push_subscriptions` table: the browsers (PWA installs) to send Web Push notifications to.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::codec::{ms, time};
use super::{Store, StoreError};

/// One Web Push subscription, as the browser's `PushSubscription` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushSubscriptionRow {
    /// The push service URL (unique per subscription).
    pub endpoint: String,
    /// The client's P-256 ECDH public key (base64url).
    pub p256dh: String,
    /// The client's authentication secret (base64url).
    pub auth: String,
    /// When it was first added.
    pub created_at: DateTime<Utc>,
}

impl PushSubscriptionRow {
    /// Decodes an `endpoint, p256dh, auth, created_at` row.
    fn from_row(row: &AnyRow) -> Result<PushSubscriptionRow, StoreError> {
        let endpoint: String = row.try_get("endpoint")?;
        Ok(PushSubscriptionRow {
            p256dh: row.try_get("p256dh")?,
            auth: row.try_get("auth")?,
            created_at: time(row.try_get("created_at")?, &format!("push_subscriptions.created_at of {endpoint:?}"))?,
            endpoint,
        })
    }
}

impl Store {
    /// Adds a subscription; adding an endpoint again replaces its keys (a browser that
    /// re-subscribed) and keeps the first `created_at`.
    pub async fn add_push_subscription(&self, sub: &PushSubscriptionRow) -> Result<(), StoreError> {
        self.written(async {
            sqlx::query(
                "INSERT INTO push_subscriptions (endpoint, p256dh, auth, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth",
            )
            .bind(&sub.endpoint)
            .bind(&sub.p256dh)
            .bind(&sub.auth)
            .bind(ms(sub.created_at))
            .execute(&self.pool)
            .await?;
            Ok(())
        })
        .await
    }

    /// Every subscription, oldest first.
    pub async fn list_push_subscriptions(&self) -> Result<Vec<PushSubscriptionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT endpoint, p256dh, auth, created_at FROM push_subscriptions ORDER BY created_at, endpoint",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(PushSubscriptionRow::from_row).collect()
    }

    /// Removes a subscription (e.g. after the push service answered 404/410); true when it
    /// existed.
    pub async fn remove_push_subscription(&self, endpoint: &str) -> Result<bool, StoreError> {
        self.written(async {
            let done = sqlx::query("DELETE FROM push_subscriptions WHERE endpoint = $1")
                .bind(endpoint)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }
}
