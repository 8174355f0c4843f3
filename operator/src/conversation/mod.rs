//! A session's conversation, live: the Claude transcript followed by byte offset
//! ([`tail`]) and turned into typed entries ([`transcript`]), interleaved by time with
//! Cockpit's own notes ([`notes`]). [`Follower`] holds one reader's place in both; the gateway
//! serves it as a server-sent-events stream (`GET /api/sessions/{id}/conversation`).

pub mod notes;
pub mod tail;
pub mod transcript;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use cockpit_api::conversation::{ConversationBatch, ConversationCursor, ConversationEntry, ConversationItem};
use cockpit_api::ids::{ConversationId, SessionId};

use crate::store::{Store, StoreError};

/// Transcript bytes read into one batch at most (a backlog arrives in several batches).
pub const BATCH_BYTES: u64 = 256 * 1024;
/// Notes read into one batch at most.
pub const BATCH_NOTES: u32 = 200;
/// How often a transcript that does not exist yet (the CLI has not written it) is looked for.
pub const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_millis(500);

/// The transcript file of Claude conversation `conversation_id` under `claude_home`, if it
/// exists (`projects/<cwd slug>/<id>.jsonl`; the id must be a UUID, so it names no other path).
pub fn transcript_file(claude_home: &Path, conversation_id: &ConversationId) -> Option<PathBuf> {
    conversation_id.uuid()?;
    let projects = std::fs::read_dir(claude_home.join("projects")).ok()?;
    projects.flatten().map(|dir| dir.path().join(format!("{conversation_id}.jsonl"))).find(|p| p.is_file())
}

/// Why a batch could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Reading the transcript failed.
    #[error("reading the transcript: {0}")]
    Transcript(#[from] std::io::Error),
    /// Reading the notes failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One reader's place in a session's conversation.
#[derive(Debug)]
pub struct Follower {
    session_id: SessionId,
    claude_home: PathBuf,
    conversation_id: Option<ConversationId>,
    file: Option<PathBuf>,
    /// When to look for a transcript not found yet.
    look_again: std::time::Instant,
    cursor: ConversationCursor,
    /// The latest time of a transcript line read so far.
    transcript_time: Option<DateTime<Utc>>,
    /// A note was held back (for a later batch or for lines from before it): notes are looked
    /// at again on the next step whatever the caller says.
    notes_waiting: bool,
}

/// How long a note later than every transcript line read waits for lines from before it: the
/// CLI stamps a line when the thing happens and writes it a moment later, so a note (an answer
/// the control plane recorded at once) can be read before the lines that precede it in time.
/// Held that long, a note arrives live where a later re-read puts it (by time).
const NOTE_SETTLE: chrono::TimeDelta = chrono::TimeDelta::milliseconds(750);

/// What one step of a [`Follower`] found.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// New entries (possibly none, when only the cursor moved past lines with nothing to show).
    Batch(ConversationBatch),
    /// The cursor named no line start of this transcript (another conversation's, or a file
    /// that was replaced): the reader must forget what it has; the stream starts over.
    Restart,
    /// Nothing new.
    Idle,
}

impl Follower {
    /// A reader of session `session_id`'s conversation `conversation_id` (once known), from
    /// `cursor` on.
    /// `from` on. A cursor into another transcript than the conversation's current one (the
    /// CLI continued the conversation in a new file) reads the current one from its start: its
    /// repeated lines have the keys the reader already holds.
    pub fn new(
        session_id: SessionId,
        claude_home: PathBuf,
        conversation_id: Option<ConversationId>,
        mut cursor: ConversationCursor,
    ) -> Follower {
        let tag = conversation_id.as_deref().map(ConversationCursor::tag);
        if cursor.conversation != tag {
            cursor.transcript = 0;
            cursor.conversation = tag;
        }
        Follower {
            session_id,
            claude_home,
            conversation_id,
            file: None,
            look_again: std::time::Instant::now(),
            cursor,
            transcript_time: None,
            notes_waiting: false,
        }
    }

    /// Follows the session's current conversation id (known once the CLI started). A new id
    /// (the CLI continued the conversation in a new transcript) is read from its start.
    pub fn set_conversation(&mut self, id: Option<ConversationId>) {
        if id.is_some() && id != self.conversation_id {
            self.cursor.transcript = 0;
            self.cursor.conversation = id.as_deref().map(ConversationCursor::tag);
            self.conversation_id = id;
            self.file = None;
            self.look_again = std::time::Instant::now();
        }
    }

    /// Reads what is new: transcript lines (up to [`BATCH_BYTES`]) and notes (up to
    /// [`BATCH_NOTES`]), merged by time. Notes are looked at when `notes` is set (the session
    /// changed), whenever new lines were read (a note recorded before them belongs among them)
    /// and while one is held back. When the transcript has more than one batch holds, notes
    /// later than its last line wait for a later batch, so that entries always arrive in time
    /// order.
    pub async fn step(&mut self, store: &Store, notes: bool) -> Result<Step, FollowError> {
        if self.file.is_none() && std::time::Instant::now() >= self.look_again {
            self.file = self.conversation_id.as_ref().and_then(|id| transcript_file(&self.claude_home, id));
            self.look_again = std::time::Instant::now() + LOOK_AGAIN;
        }
        let mut groups: Vec<(Option<DateTime<Utc>>, Vec<ConversationEntry>)> = Vec::new();
        let mut next_offset = self.cursor.transcript;
        let mut more_transcript = false;
        if let Some(file) = self.file.clone() {
            let from = self.cursor.transcript;
            let read = tokio::task::spawn_blocking(move || tail::read_lines(&file, from, BATCH_BYTES))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))??;
            if read.restarted {
                self.cursor.transcript = 0;
                self.cursor.notes = 0;
                return Ok(Step::Restart);
            }
            more_transcript = read.next > from && read.lines.len() > 1 && read.next - from >= BATCH_BYTES;
            next_offset = read.next;
            for (offset, line) in read.lines {
                let entries = match line {
                    Some(text) => transcript::parse_line(&text, offset),
                    None => vec![ConversationEntry {
                        key: format!("t{offset}.0"),
                        at: None,
                        sidechain: false,
                        item: ConversationItem::Unknown { what: "oversized line".to_owned() },
                    }],
                };
                if !entries.is_empty() {
                    groups.push((entries[0].at, entries));
                }
            }
        }
        let read_until = groups.iter().filter_map(|g| g.0).max().max(self.transcript_time);
        self.transcript_time = read_until;
        let now = Utc::now();
        let mut note_entries = Vec::new();
        let mut last_note = self.cursor.notes;
        let notes = notes || self.notes_waiting || !groups.is_empty();
        self.notes_waiting = false;
        if notes {
            for row in
                store.list_events_of_kind(&self.session_id, notes::NOTE_KIND, self.cursor.notes, BATCH_NOTES).await?
            {
                let horizon = groups.last().and_then(|g| g.0);
                // Lines from before it may be in the next batch, or still on their way (it
                // waits a moment for those).
                let later_batch = more_transcript && horizon.is_some_and(|h| row.at > h);
                let settling = read_until.is_none_or(|t| row.at > t) && now - row.at < NOTE_SETTLE;
                if later_batch || settling {
                    self.notes_waiting = true;
                    break;
                }
                last_note = row.id;
                note_entries.extend(notes::note_entry(&row));
            }
        }
        let cursor = ConversationCursor {
            transcript: next_offset,
            notes: last_note,
            conversation: self.cursor.conversation.clone(),
        };
        if cursor == self.cursor {
            return Ok(Step::Idle);
        }
        self.cursor = cursor.clone();
        Ok(Step::Batch(ConversationBatch {
            entries: merge_by_time(groups, note_entries),
            cursor,
            conversation_id: self.conversation_id.clone(),
        }))
    }
}

/// Transcript line groups and notes, each in time order, merged into one list in time order
/// (a line without a time stays before the notes that follow it).
fn merge_by_time(
    groups: Vec<(Option<DateTime<Utc>>, Vec<ConversationEntry>)>,
    notes: Vec<ConversationEntry>,
) -> Vec<ConversationEntry> {
    let mut out = Vec::with_capacity(groups.iter().map(|g| g.1.len()).sum::<usize>() + notes.len());
    let mut notes = notes.into_iter().peekable();
    for (at, entries) in groups {
        while let Some(note) = notes.next_if(|n| at.is_some_and(|at| n.at.is_some_and(|t| t < at))) {
            out.push(note);
        }
        out.extend(entries);
    }
    out.extend(notes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, at: i64) -> ConversationEntry {
        ConversationEntry {
            key: key.into(),
            at: DateTime::from_timestamp(at, 0),
            sidechain: false,
            item: ConversationItem::User { text: key.into() },
        }
    }

    #[test]
    fn notes_fall_between_the_lines_they_happened_between() {
        let groups = vec![
            (DateTime::from_timestamp(10, 0), vec![entry("t0.0", 10), entry("t0.1", 10)]),
            (DateTime::from_timestamp(30, 0), vec![entry("t9.0", 30)]),
        ];
        let merged = merge_by_time(groups, vec![entry("e1", 5), entry("e2", 20), entry("e3", 40)]);
        let keys: Vec<&str> = merged.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["e1", "t0.0", "t0.1", "e2", "t9.0", "e3"]);
    }

    #[test]
    fn only_a_uuid_names_a_transcript() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = "0b7c7a52-4a8e-4a55-9f3c-4f1a2d1e9e10";
        let project = dir.path().join("projects").join("-w-repo");
        std::fs::create_dir_all(&project).expect("mkdir");
        std::fs::write(project.join(format!("{id}.jsonl")), "{}\n").expect("write");
        assert_eq!(transcript_file(dir.path(), &id.into()), Some(project.join(format!("{id}.jsonl"))));
        assert_eq!(transcript_file(dir.path(), &"../../etc/passwd".into()), None);
        assert_eq!(transcript_file(dir.path(), &"0b7c7a52-0000-4a55-9f3c-4f1a2d1e9e10".into()), None);
    }

    /// The conversation id of the test transcripts.
    const CONVERSATION: &str = "0b7c7a52-4a8e-4a55-9f3c-4f1a2d1e9e10";

    /// A real SQLite file with session `s1` created at `at`, and where its transcript goes:
    /// (the directory holding both, the store, the CLI's home, the transcript's path).
    async fn session_with_transcript(at: DateTime<Utc>) -> (tempfile::TempDir, Store, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("c.db").display())).await.expect("store");
        let row = crate::store::SessionRow {
            id: "s1".into(),
            name: "s1".into(),
            repo: "demo".into(),
            spec: serde_json::from_value(serde_json::json!({"repo": "demo"})).expect("spec"),
            status: Default::default(),
            created_at: at,
            updated_at: at,
            deleted_at: None,
        };
        store.insert_session(&row).await.expect("session");
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join("projects/-w")).expect("mkdir");
        let path = home.join(format!("projects/-w/{CONVERSATION}.jsonl"));
        (dir, store, home, path)
    }

    /// A follower over a real SQLite file and a real transcript: lines and notes in time order,
    /// nothing again after its cursor, a new conversation read from its start, a foreign
    /// cursor restarting the stream.
    #[tokio::test]
    async fn follows_a_transcript_and_its_notes() {
        use std::io::Write;

        let t0 = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let (_dir, store, home, path) = session_with_transcript(t0).await;
        let id = CONVERSATION;
        let line = |uuid: &str, secs: i64, text: &str| {
            let at = (t0 + chrono::Duration::seconds(secs)).to_rfc3339();
            format!(
                "{}\n",
                serde_json::json!({"type": "user", "uuid": uuid, "timestamp": at, "message": {"content": text}})
            )
        };
        std::fs::write(&path, line("a", 1, "first") + &line("b", 3, "second")).expect("write");
        let note = serde_json::json!({"reason": "Rotated", "message": "moved"});
        store
            .append_event(&"s1".into(), t0 + chrono::Duration::seconds(2), notes::NOTE_KIND, &note)
            .await
            .expect("note");
        store.append_event(&"s1".into(), t0, "state", &serde_json::json!({})).await.expect("not a note");

        let mut follower = Follower::new("s1".into(), home.clone(), Some(id.into()), ConversationCursor::default());
        let Step::Batch(batch) = follower.step(&store, true).await.expect("step") else { panic!("a batch") };
        let keys: Vec<&str> = batch.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["ua.0", "e1", "ub.0"], "the note between the lines it happened between");
        assert_eq!(batch.cursor.conversation.as_deref(), Some("0b7c7a52"));
        assert_eq!(follower.step(&store, true).await.expect("step"), Step::Idle);

        // Appended later: only the new line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open")
            .write_all(line("c", 4, "third").as_bytes())
            .expect("append");
        let Step::Batch(more) = follower.step(&store, true).await.expect("step") else { panic!("a batch") };
        assert_eq!(more.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["uc.0"]);

        // A reader resuming from the first batch's cursor gets exactly that line.
        let mut resumed = Follower::new("s1".into(), home.clone(), Some(id.into()), batch.cursor.clone());
        let Step::Batch(rest) = resumed.step(&store, true).await.expect("step") else { panic!("a batch") };
        assert_eq!(rest.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["uc.0"]);

        // A cursor of another conversation: this one from its start (the keys tell repeats).
        let foreign = ConversationCursor { transcript: 5, notes: 1, conversation: Some("ffffffff".into()) };
        let mut other = Follower::new("s1".into(), home.clone(), Some(id.into()), foreign);
        let Step::Batch(all) = other.step(&store, true).await.expect("step") else { panic!("a batch") };
        assert_eq!(all.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["ua.0", "ub.0", "uc.0"]);

        // An offset inside a line of this conversation: the stream starts over.
        let torn = ConversationCursor { transcript: 3, notes: 0, conversation: Some("0b7c7a52".into()) };
        let mut lost = Follower::new("s1".into(), home, Some(id.into()), torn);
        assert_eq!(lost.step(&store, true).await.expect("step"), Step::Restart);
        let Step::Batch(again) = lost.step(&store, true).await.expect("step") else { panic!("a batch") };
        assert_eq!(again.entries.len(), 4);
    }

    /// Live order is re-read order: a fresh note waits for the lines written from before it,
    /// and a note recorded before new lines is merged among them even when the caller saw no
    /// session change.
    #[tokio::test]
    async fn a_fresh_note_arrives_where_a_re_read_puts_it() {
        use std::io::Write;

        let now = Utc::now();
        let (_dir, store, home, path) = session_with_transcript(now).await;
        let id = CONVERSATION;
        let line = |uuid: &str, at: DateTime<Utc>| {
            let at = at.to_rfc3339();
            format!(
                "{}\n",
                serde_json::json!({"type": "user", "uuid": uuid, "timestamp": at, "message": {"content": uuid}})
            )
        };
        let ms = chrono::Duration::milliseconds;
        std::fs::write(&path, line("a", now - ms(300))).expect("write");
        let mut follower = Follower::new("s1".into(), home.clone(), Some(id.into()), ConversationCursor::default());
        let Step::Batch(first) = follower.step(&store, true).await.expect("step") else { panic!("a batch") };
        assert_eq!(first.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["ua.0"]);

        // An answer's note, recorded a moment ago: later than every line read, so it waits.
        let note = serde_json::json!({"reason": "Approved", "message": "Allowed Bash"});
        store.append_event(&"s1".into(), now - ms(100), notes::NOTE_KIND, &note).await.expect("note");
        assert_eq!(follower.step(&store, true).await.expect("step"), Step::Idle, "held for the lines before it");
        // A line stamped before it, written after it: the note follows that line. No session
        // change was seen (`notes` false): the held note and the new line bring the notes in.
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).expect("open");
        file.write_all(line("b", now - ms(150)).as_bytes()).expect("append");
        file.write_all(line("c", now - ms(50)).as_bytes()).expect("append");
        let Step::Batch(live) = follower.step(&store, false).await.expect("step") else { panic!("a batch") };
        let live: Vec<&str> = live.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(live, ["ub.0", "e1", "uc.0"]);

        // A re-read from the start puts everything in the same order.
        let mut again = Follower::new("s1".into(), home, Some(id.into()), ConversationCursor::default());
        let Step::Batch(all) = again.step(&store, true).await.expect("step") else { panic!("a batch") };
        assert_eq!(all.entries.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["ua.0", "ub.0", "e1", "uc.0"]);
    }
}
