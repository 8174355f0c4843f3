//! Conversions between the API's types and the column types: unix milliseconds, JSON text,
//! unsigned counters in signed 64-bit columns.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// A time as stored: unix milliseconds (sub-millisecond precision is dropped).
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// An optional time as stored.
pub(crate) fn opt_ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(ms)
}

/// A stored time back to a `DateTime`; `what` names the column for the error.
pub(crate) fn time(ms: i64, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt { what: format!("{what}: {ms} ms is not a representable time") })
}

/// A stored optional time back to a `DateTime`.
pub(crate) fn opt_time(ms: Option<i64>, what: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(|v| time(v, what)).transpose()
}

/// Serializes a value to the JSON text stored in a TEXT column.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid { what: format!("{what} does not serialize: {e}") })
}

/// Parses the JSON text of a TEXT column.
pub(crate) fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt { what: format!("{what}: {e}") })
}

/// An unsigned argument as a signed 64-bit column value.
pub(crate) fn to_i64(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid { what: format!("{what} {v} is above {}", i64::MAX) })
}

/// A signed 64-bit column value as an unsigned number.
pub(crate) fn to_u64(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt { what: format!("{what} is negative ({v})") })
}
