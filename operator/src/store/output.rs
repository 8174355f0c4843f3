//! The `output` table: a session's terminal output as contiguous chunks with absolute offsets,
//! starting at offset 0. Appends are idempotent, so a chunk delivered twice (a reconnect, two
//! streams) is stored once; a chunk that would leave a hole is refused.

use cockpit_api::ids::SessionId;
use sqlx::Row;

use super::error::{is_foreign_key_violation, is_unique_violation};
use super::{Store, StoreError, WriteTx};

/// How often an append is retried when a concurrent append of the same session won the race
/// for the same offset (PostgreSQL; SQLite writers are serialized).
const MAX_APPEND_ATTEMPTS: u32 = 32;

/// Why one append attempt did not complete.
enum Attempt {
    /// Another writer stored a chunk at the same offset first: read the end again.
    Raced,
    /// A real error.
    Failed(StoreError),
}

impl From<sqlx::Error> for Attempt {
    fn from(e: sqlx::Error) -> Self {
        Attempt::Failed(e.into())
    }
}

impl Store {
    /// Appends the output bytes `data`, which start at absolute offset `offset`, and returns the
    /// end of the stored output afterwards.
    ///
    /// Idempotent: the part of the chunk below the stored end is taken as already stored (it is
    /// not compared) and only the new tail is written; a chunk entirely below the end changes
    /// nothing. A chunk starting after the end is refused with [`StoreError::OutputGap`].
    /// [`StoreError::NotFound`] for an unknown session; [`StoreError::Invalid`] for a negative
    /// offset. Safe to call from several tasks at once.
    pub async fn append_output(&self, session_id: &SessionId, offset: i64, data: &[u8]) -> Result<i64, StoreError> {
        if offset < 0 {
            return Err(StoreError::Invalid { what: format!("output offset {offset} is negative") });
        }
        let end = i64::try_from(data.len())
            .ok()
            .and_then(|len| offset.checked_add(len))
            .ok_or_else(|| StoreError::Invalid { what: format!("output chunk at {offset} ends beyond i64::MAX") })?;
        self.written(async {
            let mut attempts = 0;
            loop {
                attempts += 1;
                match self.try_append_output(session_id, offset, end, data).await {
                    Ok(end) => return Ok(end),
                    Err(Attempt::Raced) if attempts < MAX_APPEND_ATTEMPTS => continue,
                    Err(Attempt::Raced) => {
                        return Err(StoreError::Invalid {
                            what: format!("output of session {session_id:?}: gave up after {attempts} racing appends"),
                        });
                    }
                    Err(Attempt::Failed(e)) => return Err(e),
                }
            }
        })
        .await
    }

    /// One transaction of [`append_output`](Store::append_output).
    async fn try_append_output(
        &self,
        session_id: &SessionId,
        offset: i64,
        end: i64,
        data: &[u8],
    ) -> Result<i64, Attempt> {
        let mut tx = self.begin_write().await.map_err(Attempt::Failed)?;
        let result = Self::append_in(&mut tx, session_id, offset, end, data).await;
        if result.is_err() {
            tx.rollback().await;
            return result;
        }
        match tx.commit().await {
            Ok(()) => result,
            Err(e) if is_unique_violation(&e) => Err(Attempt::Raced),
            Err(e) => Err(e.into()),
        }
    }

    /// The statements of one append, inside `tx`.
    async fn append_in(
        tx: &mut WriteTx,
        session_id: &SessionId,
        offset: i64,
        end: i64,
        data: &[u8],
    ) -> Result<i64, Attempt> {
        let stored_end = sqlx::query_scalar::<_, i64>(
            "SELECT end_offset FROM output WHERE session_id = $1 ORDER BY start_offset DESC LIMIT 1",
        )
        .bind(session_id.as_str())
        .fetch_optional(tx.conn())
        .await?
        .unwrap_or(0);
        if offset > stored_end {
            return Err(Attempt::Failed(StoreError::OutputGap { expected: stored_end, got: offset }));
        }
        if end <= stored_end {
            return Ok(stored_end);
        }
        let skip = usize::try_from(stored_end - offset)
            .map_err(|_| Attempt::Failed(StoreError::Corrupt { what: "output offsets".to_owned() }))?;
        let tail = data.get(skip..).unwrap_or_default();
        let inserted =
            sqlx::query("INSERT INTO output (session_id, start_offset, end_offset, data) VALUES ($1, $2, $3, $4)")
                .bind(session_id.as_str())
                .bind(stored_end)
                .bind(end)
                .bind(tail)
                .execute(tx.conn())
                .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(Attempt::Raced),
            Err(e) if is_foreign_key_violation(&e) => {
                return Err(Attempt::Failed(StoreError::NotFound { what: format!("session {session_id:?}") }));
            }
            Err(e) => return Err(e.into()),
        }
        Ok(end)
    }

    /// Records offsets `[start, end)` as unused (a void: a restart lost output that clients
    /// of the previous control plane may hold; no other bytes may take those offsets). The
    /// stored output must end at `start`; recording the same void again changes nothing.
    pub async fn append_void(&self, session_id: &SessionId, start: i64, end: i64) -> Result<(), StoreError> {
        if start < 0 || end <= start {
            return Err(StoreError::Invalid { what: format!("void [{start}, {end})") });
        }
        self.written(async {
            let stored_end = self.output_end(session_id).await?;
            if stored_end >= end {
                return Ok(());
            }
            if stored_end != start {
                return Err(StoreError::OutputGap { expected: stored_end, got: start });
            }
            sqlx::query("INSERT INTO output (session_id, start_offset, end_offset, data) VALUES ($1, $2, $3, $4)")
                .bind(session_id.as_str())
                .bind(start)
                .bind(end)
                .bind(Vec::<u8>::new())
                .execute(&self.pool)
                .await?;
            Ok(())
        })
        .await
    }

    /// The end of the void holding offset `at`, if `at` lies in one.
    pub async fn output_void_end(&self, session_id: &SessionId, at: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT end_offset FROM output WHERE session_id = $1 AND start_offset <= $2 AND end_offset > $2 \
             AND length(data) = 0",
        )
        .bind(session_id.as_str())
        .bind(at)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The end of a session's stored output: the offset the next chunk starts at (0 when none).
    pub async fn output_end(&self, session_id: &SessionId) -> Result<i64, StoreError> {
        let end = sqlx::query_scalar::<_, i64>(
            "SELECT end_offset FROM output WHERE session_id = $1 ORDER BY start_offset DESC LIMIT 1",
        )
        .bind(session_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(end.unwrap_or(0))
    }

    /// Up to `max_bytes` bytes of a session's output starting exactly at offset `from` (which may
    /// lie inside a stored chunk), across as many chunks as needed. Empty when `from` is at or
    /// past the end. [`StoreError::Invalid`] for a negative `from`.
    pub async fn read_output(
        &self,
        session_id: &SessionId,
        from: i64,
        max_bytes: usize,
    ) -> Result<Vec<u8>, StoreError> {
        if from < 0 {
            return Err(StoreError::Invalid { what: format!("output offset {from} is negative") });
        }
        if max_bytes == 0 {
            return Ok(Vec::new());
        }
        let until = from.saturating_add(i64::try_from(max_bytes).unwrap_or(i64::MAX));
        // The chunk holding `from` (the last one starting at or before it), then every chunk
        // starting before `until`: two range scans of the (session_id, start_offset) key.
        let rows = sqlx::query(
            "SELECT start_offset, data FROM output WHERE session_id = $1 \
             AND start_offset >= COALESCE((SELECT MAX(start_offset) FROM output \
                                           WHERE session_id = $1 AND start_offset <= $2), 0) \
             AND start_offset < $3 ORDER BY start_offset",
        )
        .bind(session_id.as_str())
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for row in &rows {
            let start: i64 = row.try_get("start_offset")?;
            let data: Vec<u8> = row.try_get("data")?;
            let pos = from.saturating_add(i64::try_from(out.len()).unwrap_or(i64::MAX));
            let corrupt = || StoreError::Corrupt { what: format!("output of session {session_id:?} at offset {pos}") };
            if start > pos {
                return Err(corrupt());
            }
            let skip = usize::try_from(pos - start).map_err(|_| corrupt())?;
            if data.is_empty() {
                break; // offsets left unused (a void): nothing is stored there
            }
            let Some(rest) = data.get(skip..) else { continue };
            let take = rest.len().min(max_bytes - out.len());
            out.extend_from_slice(&rest[..take]);
            if out.len() == max_bytes {
                break;
            }
        }
        Ok(out)
    }
}
