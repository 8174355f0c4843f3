//! Query strings: the extractor whose rejections are [`Failure`]s and the paging of lists.

use super::error::Failure;

/// The query-string extractor whose rejections are [`Failure`]s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Failure))]
pub struct Params<T>(pub T);

/// Paging of a list: entries after `after`, at most `limit` of them.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging<After> {
    /// Entries after this one.
    pub after: Option<After>,
    /// At most this many (1..=500, default 100).
    pub limit: Option<u32>,
}

impl<After> Paging<After> {
    /// The page size asked for, or why it is refused.
    pub fn limit(&self) -> Result<u32, Failure> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(Failure::bad_request("limit must be between 1 and 500"));
        }
        Ok(limit)
    }
}
