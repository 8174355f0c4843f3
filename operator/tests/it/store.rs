//! The persistence layer against real databases: every test body below runs twice, once on a
//! SQLite file in a temporary directory and once on a throw-away PostgreSQL server
//! (`support/pg.rs`), through `on_both_backends!`.

use crate::support::pg;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use cockpit_api::ids::SessionId;
use cockpit_api::{
    Activity, ClaudeSessionSpec, ClaudeSessionStatus, PermissionMode, RateLimitWindow, RotationPolicy, SessionMode,
    SessionPhase,
};
use cockpit_operator::store::{Backend, PushSubscriptionRow, SessionRow, Store, StoreError, WorkerRow};
use serde_json::json;

/// A database to run a test body on; owns what must outlive the test (directory, server).
enum Db {
    /// A SQLite file whose directory does not exist yet (the store creates both).
    Sqlite { _dir: tempfile::TempDir, url: String },
    /// A fresh PostgreSQL cluster.
    Postgres { server: pg::PgServer },
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/state/cockpit.db", dir.path().display());
        Db::Sqlite { _dir: dir, url }
    }

    async fn postgres() -> Db {
        Db::Postgres { server: pg::start().await }
    }

    fn url(&self) -> &str {
        match self {
            Db::Sqlite { url, .. } => url,
            Db::Postgres { server } => server.url(),
        }
    }

    fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres { .. } => Backend::Postgres,
        }
    }

    async fn connect(&self) -> Store {
        match Store::connect(self.url()).await {
            Ok(store) => store,
            Err(e) => panic!("connect to {}: {e}", self.url()),
        }
    }
}

/// Declares one `#[tokio::test]` per body and backend: `sqlite::NAME` and `postgres::NAME`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::Db::sqlite();
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::Db::postgres().await;
                    super::$name(&db).await;
                }
            )*
        }
    };
}

on_both_backends!(
    sessions_round_trip,
    duplicate_sessions_are_refused_and_change_nothing,
    unknown_rows_are_not_found_and_change_nothing,
    workers_are_recorded_replaced_and_cleared,
    events_are_appended_and_paged,
    output_appends_are_idempotent_and_gaps_refused,
    read_output_crosses_chunk_boundaries,
    thousands_of_small_chunks,
    accounts_keep_usage_and_limits,
    audit_is_listed_newest_first,
    push_subscriptions_and_settings,
    everything_survives_a_reconnect,
    concurrent_writers_lose_nothing,
    voids_keep_their_offsets_unused,
    account_utilization_keeps_the_newest_report,
);

/// Offsets left unused after a restart that lost output: nothing is read there, the output
/// goes on after them, and the void is found by any offset inside it.
async fn voids_keep_their_offsets_unused(db: &Db) {
    let store = db.connect().await;
    let row = session("void", t(0));
    store.insert_session(&row).await.expect("insert");
    store.append_output(&row.id, 0, b"before").await.expect("append");
    assert!(matches!(store.append_void(&row.id, 3, 100).await, Err(StoreError::OutputGap { .. })), "only at the end");
    assert!(matches!(store.append_void(&row.id, 6, 6).await, Err(StoreError::Invalid { .. })));
    store.append_void(&row.id, 6, 100).await.expect("void");
    store.append_void(&row.id, 6, 100).await.expect("the same void again changes nothing");
    assert_eq!(store.output_end(&row.id).await.expect("end"), 100);
    store.append_output(&row.id, 100, b"after").await.expect("after the void");
    assert_eq!(store.read_output(&row.id, 0, 1000).await.expect("read"), b"before", "a read stops at the void");
    assert_eq!(store.read_output(&row.id, 50, 1000).await.expect("read"), b"");
    assert_eq!(store.read_output(&row.id, 100, 1000).await.expect("read"), b"after");
    assert_eq!(store.output_void_end(&row.id, 6).await.expect("void"), Some(100));
    assert_eq!(store.output_void_end(&row.id, 99).await.expect("void"), Some(100));
    assert_eq!(store.output_void_end(&row.id, 5).await.expect("void"), None);
    assert_eq!(store.output_void_end(&row.id, 100).await.expect("void"), None);
}

/// Two sessions on one account report its utilization in any order: the newest report stays.
async fn account_utilization_keeps_the_newest_report(db: &Db) {
    use cockpit_api::{PlanUtilization, UsageWindow};
    let store = db.connect().await;
    store.upsert_account("alpha", 1, None).await.expect("account");
    let report = |used: f64, at: i64| PlanUtilization {
        five_hour: Some(UsageWindow { used_percent: used, resets_at: Some(t(18_000)) }),
        seven_day: None,
        observed_at: t(at),
    };
    store.set_account_utilization("alpha", &report(40.0, 10)).await.expect("set");
    store.set_account_utilization("alpha", &report(20.0, 5)).await.expect("an older report");
    let row = store.get_account("alpha").await.expect("get").expect("alpha");
    assert_eq!(row.utilization, Some(report(40.0, 10)));
    store.set_account_utilization("alpha", &report(60.0, 20)).await.expect("newer");
    assert_eq!(store.get_account("alpha").await.expect("get").and_then(|a| a.utilization), Some(report(60.0, 20)));
    assert!(matches!(store.set_account_utilization("ghost", &report(1.0, 1)).await, Err(StoreError::NotFound { .. })));
}

/// A time with millisecond precision (what the store keeps), `secs` after a fixed instant.
fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_750_000_000_123 + secs * 1000).expect("valid time")
}

fn session(name: &str, created: DateTime<Utc>) -> SessionRow {
    SessionRow {
        id: uuid::Uuid::new_v4().into(),
        name: name.to_owned(),
        repo: "cockpit".to_owned(),
        spec: ClaudeSessionSpec {
            repo: "cockpit".to_owned(),
            account_ref: None,
            mode: SessionMode::Interactive,
            prompt: Some(format!("hello from {name}")),
            model: Some("sonnet".to_owned()),
            permission_mode: Some(PermissionMode::AcceptEdits),
            resume: None,
            rotation: RotationPolicy::Auto,
        },
        status: ClaudeSessionStatus::default(),
        created_at: created,
        updated_at: created,
        deleted_at: None,
    }
}

/// Inserts a fresh session and returns its id.
async fn new_session(store: &Store, name: &str) -> SessionId {
    let row = session(name, t(0));
    store.insert_session(&row).await.expect("insert session");
    row.id
}

/// Deterministic bytes, all different within 251 positions.
fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| ((i % 251) as u8).wrapping_add(seed)).collect()
}

async fn sessions_round_trip(db: &Db) {
    let store = db.connect().await;
    assert_eq!(store.backend(), db.backend());
    let a = session("alpha", t(1));
    let b = session("beta", t(2));
    store.insert_session(&a).await.unwrap();
    store.insert_session(&b).await.unwrap();

    assert_eq!(store.get_session(&a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(store.get_session_by_name("beta").await.unwrap().as_ref(), Some(&b));
    assert_eq!(store.get_session(&"nope".into()).await.unwrap(), None);
    assert_eq!(store.get_session_by_name("nope").await.unwrap(), None);
    let names: Vec<_> = store.list_sessions(false).await.unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["beta", "alpha"], "newest first");

    let status = ClaudeSessionStatus {
        phase: SessionPhase::Running,
        activity: Some(Activity::NeedsApproval),
        account: Some("main".to_owned()),
        claude_session_id: Some("0b6f9d2e-7d3c-4c7e-9a55-3f0f2b1c9d11".into()),
        started_at: Some(Utc::now()),
        rotations: 2,
        ..ClaudeSessionStatus::default()
    };
    store.update_status(&a.id, &status, t(10)).await.unwrap();
    let got = store.get_session(&a.id).await.unwrap().unwrap();
    assert_eq!(got.status, status);
    assert_eq!(got.updated_at, t(10));
    assert_eq!(got.created_at, t(1));

    store.mark_deleted(&a.id, t(20)).await.unwrap();
    let got = store.get_session(&a.id).await.unwrap().unwrap();
    assert_eq!(got.deleted_at, Some(t(20)));
    assert_eq!(store.get_session_by_name("alpha").await.unwrap(), None, "by name finds live sessions only");
    assert_eq!(store.list_sessions(false).await.unwrap().len(), 1);
    assert_eq!(store.list_sessions(true).await.unwrap().len(), 2);
    // Deleting again is a no-op that keeps the first time.
    store.mark_deleted(&a.id, t(30)).await.unwrap();
    assert_eq!(store.get_session(&a.id).await.unwrap().unwrap().deleted_at, Some(t(20)));
}

async fn duplicate_sessions_are_refused_and_change_nothing(db: &Db) {
    let store = db.connect().await;
    let first = session("fix-ci", t(1));
    store.insert_session(&first).await.unwrap();

    let same_name = session("fix-ci", t(2));
    match store.insert_session(&same_name).await {
        Err(StoreError::Duplicate { what }) => assert!(what.contains("fix-ci"), "{what}"),
        other => panic!("expected Duplicate, got {other:?}"),
    }
    let mut same_id = session("other", t(3));
    same_id.id = first.id.clone();
    match store.insert_session(&same_id).await {
        Err(StoreError::Duplicate { what }) => assert!(what.contains(first.id.as_str()), "{what}"),
        other => panic!("expected Duplicate, got {other:?}"),
    }
    assert_eq!(store.list_sessions(true).await.unwrap(), vec![first.clone()], "nothing changed");
    assert_eq!(store.get_session(&same_name.id).await.unwrap(), None);

    // Once the first is deleted its name is free again.
    store.mark_deleted(&first.id, t(4)).await.unwrap();
    store.insert_session(&same_name).await.unwrap();
    assert_eq!(store.get_session_by_name("fix-ci").await.unwrap().unwrap().id, same_name.id);
    assert_eq!(store.list_sessions(true).await.unwrap().len(), 2);
}

async fn unknown_rows_are_not_found_and_change_nothing(db: &Db) {
    let store = db.connect().await;
    fn not_found<T>(r: Result<T, StoreError>) -> bool {
        matches!(r, Err(StoreError::NotFound { .. }))
    }
    assert!(not_found(store.update_status(&"ghost".into(), &ClaudeSessionStatus::default(), t(1)).await));
    assert!(not_found(store.mark_deleted(&"ghost".into(), t(1)).await));
    let worker = WorkerRow {
        pid: 1,
        endpoint: "127.0.0.1:1".to_owned(),
        account: "a".to_owned(),
        base_offset: 0,
        started_at: t(1),
    };
    assert!(not_found(store.set_worker(&"ghost".into(), &worker).await), "foreign keys are enforced");
    assert!(not_found(store.append_event(&"ghost".into(), t(1), "x", &json!({})).await));
    assert!(not_found(store.append_output(&"ghost".into(), 0, b"abc").await));
    assert!(not_found(store.set_account_limit("ghost", Some(t(5)), None).await));
    assert!(not_found(store.add_usage("ghost", 1, 2, 3, 0.5).await));

    assert!(store.list_sessions(true).await.unwrap().is_empty());
    assert!(store.list_workers().await.unwrap().is_empty());
    assert!(store.list_events(&"ghost".into(), 0, 100).await.unwrap().is_empty());
    assert_eq!(store.output_end(&"ghost".into()).await.unwrap(), 0);
    assert!(store.list_accounts().await.unwrap().is_empty());
    assert!(!store.clear_worker(&"ghost".into()).await.unwrap());
    assert!(!store.remove_push_subscription("https://push.example/ghost").await.unwrap());
    assert_eq!(store.get_setting("ghost").await.unwrap(), None);
}

async fn workers_are_recorded_replaced_and_cleared(db: &Db) {
    let store = db.connect().await;
    let s1 = new_session(&store, "one").await;
    let s2 = new_session(&store, "two").await;
    let w1 = WorkerRow {
        pid: 4242,
        endpoint: "127.0.0.1:40001".to_owned(),
        account: "main".to_owned(),
        base_offset: 0,
        started_at: t(1),
    };
    let w2 = WorkerRow { pid: 4343, endpoint: "127.0.0.1:40002".to_owned(), ..w1.clone() };
    store.set_worker(&s1, &w1).await.unwrap();
    store.set_worker(&s2, &w2).await.unwrap();
    assert_eq!(store.get_worker(&s1).await.unwrap(), Some(w1.clone()));

    // A restart on another account replaces the row.
    let w1b = WorkerRow {
        pid: 5000,
        endpoint: "127.0.0.1:40003".to_owned(),
        account: "spare".to_owned(),
        base_offset: 123_456,
        started_at: t(9),
    };
    store.set_worker(&s1, &w1b).await.unwrap();
    assert_eq!(store.get_worker(&s1).await.unwrap(), Some(w1b.clone()));
    let mut expected = vec![(s1.clone(), w1b), (s2.clone(), w2)];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(store.list_workers().await.unwrap(), expected);

    assert!(store.clear_worker(&s1).await.unwrap());
    assert!(!store.clear_worker(&s1).await.unwrap());
    assert_eq!(store.get_worker(&s1).await.unwrap(), None);
    assert_eq!(store.list_workers().await.unwrap().len(), 1);
}

async fn events_are_appended_and_paged(db: &Db) {
    let store = db.connect().await;
    let s = new_session(&store, "events").await;
    let other = new_session(&store, "other").await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let data = json!({"i": i, "nested": {"text": "ünïcödé ✓", "list": [1, 2.5, null, true]}});
        ids.push(store.append_event(&s, t(i), "activity", &data).await.unwrap());
        store.append_event(&other, t(i), "noise", &json!(i)).await.unwrap();
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");

    let first = store.list_events(&s, 0, 4).await.unwrap();
    assert_eq!(first.len(), 4);
    assert_eq!(first[0].id, ids[0]);
    assert_eq!(first[0].session_id, s);
    assert_eq!(first[0].kind, "activity");
    assert_eq!(first[0].at, t(0));
    assert_eq!(first[0].data, json!({"i": 0, "nested": {"text": "ünïcödé ✓", "list": [1, 2.5, null, true]}}));
    let rest = store.list_events(&s, first[3].id, 100).await.unwrap();
    assert_eq!(rest.iter().map(|e| e.id).collect::<Vec<_>>(), ids[4..]);
    assert!(store.list_events(&s, ids[9], 100).await.unwrap().is_empty());
    assert!(store.list_events(&s, 0, 0).await.unwrap().is_empty());
}

async fn output_appends_are_idempotent_and_gaps_refused(db: &Db) {
    let store = db.connect().await;
    let s = new_session(&store, "out").await;
    assert_eq!(store.output_end(&s).await.unwrap(), 0);

    // A first chunk must start at 0.
    match store.append_output(&s, 3, b"xyz").await {
        Err(StoreError::OutputGap { expected: 0, got: 3 }) => {}
        other => panic!("expected OutputGap, got {other:?}"),
    }
    assert_eq!(store.append_output(&s, 0, b"hello").await.unwrap(), 5);
    // The same chunk again: nothing new.
    assert_eq!(store.append_output(&s, 0, b"hello").await.unwrap(), 5);
    // A chunk inside the stored range: nothing new.
    assert_eq!(store.append_output(&s, 1, b"ell").await.unwrap(), 5);
    // Partly stored: only the tail " world" goes in.
    assert_eq!(store.append_output(&s, 3, b"lo world").await.unwrap(), 11);
    // Empty chunks are fine at or below the end.
    assert_eq!(store.append_output(&s, 11, b"").await.unwrap(), 11);
    assert_eq!(store.append_output(&s, 4, b"").await.unwrap(), 11);
    // A gap is refused and nothing is stored.
    match store.append_output(&s, 12, b"!!").await {
        Err(StoreError::OutputGap { expected: 11, got: 12 }) => {}
        other => panic!("expected OutputGap, got {other:?}"),
    }
    match store.append_output(&s, -1, b"x").await {
        Err(StoreError::Invalid { .. }) => {}
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(store.output_end(&s).await.unwrap(), 11);
    assert_eq!(store.read_output(&s, 0, 1 << 20).await.unwrap(), b"hello world");
    assert_eq!(store.append_output(&s, 11, b"!").await.unwrap(), 12);
    assert_eq!(store.read_output(&s, 0, usize::MAX).await.unwrap(), b"hello world!");
}

async fn read_output_crosses_chunk_boundaries(db: &Db) {
    let store = db.connect().await;
    let s = new_session(&store, "chunks").await;
    let other = new_session(&store, "other").await;
    let all = bytes(5000, 7);
    // Chunks of irregular sizes: 1, 2, 3, …, with re-sent overlapping pieces in between.
    let (mut at, mut size) = (0usize, 1usize);
    while at < all.len() {
        let end = (at + size).min(all.len());
        store.append_output(&s, at as i64, &all[at..end]).await.unwrap();
        if at >= 2 {
            // Re-send a piece overlapping the previous chunk and reaching into this one.
            store.append_output(&s, (at - 2) as i64, &all[at - 2..end]).await.unwrap();
        }
        store.append_output(&other, at as i64, &bytes(end - at, 99)[..]).await.unwrap();
        at = end;
        size = size % 97 + 1;
    }
    assert_eq!(store.output_end(&s).await.unwrap(), 5000);
    assert_eq!(store.read_output(&s, 0, usize::MAX).await.unwrap(), all);
    for from in [0usize, 1, 2, 3, 5, 17, 99, 100, 1000, 2047, 4999] {
        for max in [1usize, 2, 3, 7, 64, 333, 4096, 10_000] {
            let got = store.read_output(&s, from as i64, max).await.unwrap();
            let want = &all[from..(from + max).min(all.len())];
            assert_eq!(got, want, "from {from} max {max}");
        }
    }
    assert!(store.read_output(&s, 5000, 10).await.unwrap().is_empty());
    assert!(store.read_output(&s, 9000, 10).await.unwrap().is_empty());
    assert!(store.read_output(&s, 10, 0).await.unwrap().is_empty());
    assert!(store.read_output(&"ghost".into(), 0, 10).await.unwrap().is_empty());
    assert!(matches!(store.read_output(&s, -5, 10).await, Err(StoreError::Invalid { .. })));
}

async fn thousands_of_small_chunks(db: &Db) {
    let store = db.connect().await;
    let s = new_session(&store, "chatty").await;
    let all = bytes(9000, 3);
    let started = std::time::Instant::now();
    let mut at = 0usize;
    let mut chunks = 0;
    while at < all.len() {
        let end = (at + 1 + chunks % 5).min(all.len());
        store.append_output(&s, at as i64, &all[at..end]).await.unwrap();
        at = end;
        chunks += 1;
    }
    let appended = started.elapsed();
    assert!(chunks >= 3000, "{chunks} chunks");
    let started = std::time::Instant::now();
    assert_eq!(store.read_output(&s, 0, usize::MAX).await.unwrap(), all);
    for from in (0..9000).step_by(997) {
        assert_eq!(store.read_output(&s, from as i64, 100).await.unwrap(), all[from..(from + 100).min(9000)]);
    }
    let read = started.elapsed();
    eprintln!("{chunks} chunks appended in {appended:?}, read back in {read:?}");
    assert!(read < std::time::Duration::from_secs(10), "reads took {read:?}");
}

async fn accounts_keep_usage_and_limits(db: &Db) {
    let store = db.connect().await;
    store.upsert_account("main", 10, None).await.unwrap();
    store.upsert_account("spare", 5, Some(2)).await.unwrap();
    store.upsert_account("backup", 5, None).await.unwrap();
    let names: Vec<_> = store.list_accounts().await.unwrap().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["main", "backup", "spare"], "priority first, then name");

    store.add_usage("main", 1, 1000, 200, 0.25).await.unwrap();
    store.add_usage("main", 2, 10, 20, 0.5).await.unwrap();
    store.set_account_limit("main", Some(t(3600)), Some(RateLimitWindow::Weekly)).await.unwrap();
    let main = store.get_account("main").await.unwrap().unwrap();
    assert_eq!(main.priority, 10);
    assert_eq!(main.max_sessions, None);
    assert_eq!(main.limited_until, Some(t(3600)));
    assert_eq!(main.limit_window, Some(RateLimitWindow::Weekly));
    assert_eq!((main.usage.sessions, main.usage.input_tokens, main.usage.output_tokens), (3, 1010, 220));
    assert!((main.usage.cost_usd - 0.75).abs() < 1e-9);

    // Upserting changes priority and max_sessions only.
    store.upsert_account("main", -1, Some(4)).await.unwrap();
    let again = store.get_account("main").await.unwrap().unwrap();
    assert_eq!((again.priority, again.max_sessions), (-1, Some(4)));
    assert_eq!(again.usage, main.usage);
    assert_eq!((again.limited_until, again.limit_window), (main.limited_until, main.limit_window));
    assert!(again.updated_at >= main.updated_at);

    store.set_account_limit("main", None, None).await.unwrap();
    let cleared = store.get_account("main").await.unwrap().unwrap();
    assert_eq!((cleared.limited_until, cleared.limit_window), (None, None));
    assert_eq!(store.get_account("nope").await.unwrap(), None);

    assert!(matches!(store.add_usage("main", 0, 0, 0, f64::NAN).await, Err(StoreError::Invalid { .. })));
    assert!(matches!(store.add_usage("main", u64::MAX, 0, 0, 0.0).await, Err(StoreError::Invalid { .. })));
    assert_eq!(store.get_account("main").await.unwrap().unwrap().usage, main.usage, "nothing changed");
}

async fn audit_is_listed_newest_first(db: &Db) {
    let store = db.connect().await;
    let s = new_session(&store, "audited").await;
    let a = store.audit(t(1), Some("me@example.com"), "session.create", Some(&s), &json!({"name": "audited"})).await;
    let b = store.audit(t(2), None, "account.reset_limit", None, &json!({"account": "main"})).await;
    let c = store.audit(t(3), Some("me@example.com"), "session.stop", Some(&"gone".into()), &json!(null)).await;
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    assert!(a < b && b < c);

    let all = store.list_audit(10).await.unwrap();
    assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), [c, b, a]);
    assert_eq!(all[2].actor.as_deref(), Some("me@example.com"));
    assert_eq!(all[2].action, "session.create");
    assert_eq!(all[2].session_id.as_deref(), Some(s.as_str()));
    assert_eq!(all[2].detail, json!({"name": "audited"}));
    assert_eq!(all[2].at, t(1));
    assert_eq!(all[1].actor, None);
    assert_eq!(all[1].session_id, None);
    assert_eq!(all[0].detail, json!(null));
    assert_eq!(store.list_audit(2).await.unwrap().len(), 2);
}

async fn push_subscriptions_and_settings(db: &Db) {
    let store = db.connect().await;
    let sub = |n: u32, at| PushSubscriptionRow {
        endpoint: format!("https://web.push.apple.com/QG{n}"),
        p256dh: format!("BP{n}"),
        auth: format!("au{n}"),
        created_at: at,
    };
    store.add_push_subscription(&sub(1, t(1))).await.unwrap();
    store.add_push_subscription(&sub(2, t(2))).await.unwrap();
    // Re-subscribing replaces the keys and keeps the first time.
    let renewed = PushSubscriptionRow { p256dh: "BPnew".to_owned(), auth: "aunew".to_owned(), ..sub(1, t(5)) };
    store.add_push_subscription(&renewed).await.unwrap();
    let list = store.list_push_subscriptions().await.unwrap();
    assert_eq!(list, vec![PushSubscriptionRow { created_at: t(1), ..renewed }, sub(2, t(2))]);
    assert!(store.remove_push_subscription(&sub(1, t(1)).endpoint).await.unwrap());
    assert_eq!(store.list_push_subscriptions().await.unwrap(), vec![sub(2, t(2))]);

    assert_eq!(store.get_setting("vapid.private").await.unwrap(), None);
    store.set_setting("vapid.private", "k1").await.unwrap();
    store.set_setting("vapid.public", "p1").await.unwrap();
    store.set_setting("vapid.private", "k2").await.unwrap();
    assert_eq!(store.get_setting("vapid.private").await.unwrap().as_deref(), Some("k2"));
    assert_eq!(store.get_setting("vapid.public").await.unwrap().as_deref(), Some("p1"));
}

async fn everything_survives_a_reconnect(db: &Db) {
    let store = db.connect().await;
    let live = session("live", t(1));
    let gone = session("gone", t(2));
    store.insert_session(&live).await.unwrap();
    store.insert_session(&gone).await.unwrap();
    store.mark_deleted(&gone.id, t(3)).await.unwrap();
    let status = ClaudeSessionStatus { phase: SessionPhase::RateLimited, ..ClaudeSessionStatus::default() };
    store.update_status(&live.id, &status, t(4)).await.unwrap();
    let worker = WorkerRow {
        pid: 77,
        endpoint: "127.0.0.1:9".to_owned(),
        account: "main".to_owned(),
        base_offset: 5,
        started_at: t(5),
    };
    store.set_worker(&live.id, &worker).await.unwrap();
    let event = store.append_event(&live.id, t(6), "limit", &json!({"window": "weekly"})).await.unwrap();
    store.append_output(&live.id, 0, b"first ").await.unwrap();
    store.append_output(&live.id, 6, b"second").await.unwrap();
    store.upsert_account("main", 3, Some(1)).await.unwrap();
    store.add_usage("main", 1, 2, 3, 4.5).await.unwrap();
    store.set_account_limit("main", Some(t(99)), Some(RateLimitWindow::Session)).await.unwrap();
    store.audit(t(7), Some("me"), "session.create", Some(&live.id), &json!({})).await.unwrap();
    let sub = PushSubscriptionRow {
        endpoint: "https://push.example/1".to_owned(),
        p256dh: "p".to_owned(),
        auth: "a".to_owned(),
        created_at: t(8),
    };
    store.add_push_subscription(&sub).await.unwrap();
    store.set_setting("k", "v").await.unwrap();
    let sessions = store.list_sessions(true).await.unwrap();
    let accounts = store.list_accounts().await.unwrap();
    store.close().await;
    drop(store);

    for _ in 0..2 {
        let store = db.connect().await;
        assert_eq!(store.list_sessions(true).await.unwrap(), sessions);
        assert_eq!(store.get_session(&live.id).await.unwrap().unwrap().status, status);
        assert_eq!(store.get_worker(&live.id).await.unwrap(), Some(worker.clone()));
        let events = store.list_events(&live.id, 0, 10).await.unwrap();
        assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), [event]);
        assert_eq!(store.output_end(&live.id).await.unwrap(), 12);
        assert_eq!(store.read_output(&live.id, 3, 100).await.unwrap(), b"st second");
        assert_eq!(store.list_accounts().await.unwrap(), accounts);
        assert_eq!(store.list_audit(10).await.unwrap().len(), 1);
        assert_eq!(store.list_push_subscriptions().await.unwrap(), vec![sub.clone()]);
        assert_eq!(store.get_setting("k").await.unwrap().as_deref(), Some("v"));
        // The name uniqueness rule survives too.
        assert!(matches!(store.insert_session(&session("live", t(9))).await, Err(StoreError::Duplicate { .. })));
        store.close().await;
    }
}

async fn concurrent_writers_lose_nothing(db: &Db) {
    let store = db.connect().await;
    store.upsert_account("main", 0, None).await.unwrap();
    let shared = new_session(&store, "shared").await;
    let stream = bytes(3000, 11);
    let mut tasks = tokio::task::JoinSet::new();

    // Four tasks deliver the same stream to one session, each cut into chunks of its own size,
    // so that their chunks overlap partly: the stored output must be the stream exactly once.
    for cut in [7usize, 13, 64, 5] {
        let (store, shared, stream) = (store.clone(), shared.clone(), stream.clone());
        tasks.spawn(async move {
            for (i, chunk) in stream.chunks(cut).enumerate() {
                store.append_output(&shared, (i * cut) as i64, chunk).await.expect("shared append");
            }
        });
    }
    // Six tasks each write their own session's output and events, and bump the usage.
    let mut own = Vec::new();
    for n in 0..6u8 {
        let id = new_session(&store, &format!("own-{n}")).await;
        own.push((id.clone(), n));
        let store = store.clone();
        tasks.spawn(async move {
            let data = bytes(1500, n);
            for (i, chunk) in data.chunks(10).enumerate() {
                store.append_output(&id, (i * 10) as i64, chunk).await.expect("own append");
                if i % 10 == 0 {
                    store.append_event(&id, t(i as i64), "tick", &json!(i)).await.expect("event");
                    store.add_usage("main", 1, 10, 1, 0.5).await.expect("usage");
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }

    assert_eq!(store.output_end(&shared).await.unwrap(), 3000);
    assert_eq!(store.read_output(&shared, 0, usize::MAX).await.unwrap(), stream);
    let mut ids = HashSet::new();
    for (id, n) in &own {
        assert_eq!(store.read_output(id, 0, usize::MAX).await.unwrap(), bytes(1500, *n));
        let events = store.list_events(id, 0, 1000).await.unwrap();
        assert_eq!(events.len(), 15);
        ids.extend(events.iter().map(|e| e.id));
    }
    assert_eq!(ids.len(), 6 * 15, "event ids are unique");
    let usage = store.get_account("main").await.unwrap().unwrap().usage;
    assert_eq!((usage.sessions, usage.input_tokens, usage.output_tokens), (90, 900, 90));
    assert!((usage.cost_usd - 45.0).abs() < 1e-9);
}

// ---- tests that are not per backend ----

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode() {
    use sqlx::Connection;
    let db = Db::sqlite();
    let store = db.connect().await;
    assert_eq!(store.backend(), Backend::Sqlite);
    let Db::Sqlite { _dir: dir, .. } = &db else { unreachable!() };
    assert!(dir.path().join("state/cockpit.db").is_file());
    let mut conn = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap();
    assert_eq!(mode, "wal");
}

/// Commits never copy the WAL into the database file themselves (a flood's append would wait
/// for it); the store's own task does, soon after writes, while the store stays writable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_output_reaches_the_database_file_off_the_write_path() {
    let db = Db::sqlite();
    let store = db.connect().await;
    let Db::Sqlite { _dir: dir, .. } = &db else { unreachable!() };
    let file = dir.path().join("state/cockpit.db");
    let before = std::fs::metadata(&file).expect("the database file").len();
    let id = new_session(&store, "flood").await;
    let chunk = bytes(256 << 10, 7);
    for i in 0..32i64 {
        store.append_output(&id, i * (256 << 10), &chunk).await.expect("appending");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut size = before;
    while size < before + (8 << 20) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        size = std::fs::metadata(&file).expect("the database file").len();
    }
    assert!(size >= before + (8 << 20), "8 MiB written, the database file grew {} bytes", size - before);
    assert_eq!(store.read_output(&id, 0, 64).await.expect("reading"), chunk[..64]);
    store.append_output(&id, 32 * (256 << 10), b"after").await.expect("still writable");
}

#[tokio::test]
async fn sqlite_paths_keep_case_spaces_and_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/Cockpit Data #1/State.db", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    new_session(&store, "odd-path").await;
    store.close().await;
    assert!(dir.path().join("Cockpit Data #1/State.db").is_file());
    let again = Store::connect(&url).await.unwrap();
    assert_eq!(again.list_sessions(true).await.unwrap().len(), 1);
}

#[tokio::test]
async fn unsupported_urls_are_refused_without_their_password() {
    for url in ["mysql://root:hunter2@db/cockpit", "sqlite::memory:", "not a url"] {
        match Store::connect(url).await {
            Err(e @ StoreError::InvalidUrl { .. }) => {
                let shown = format!("{e} {e:?}");
                assert!(!shown.contains("hunter2:") && !shown.contains(":hunter2"), "{shown}");
            }
            other => panic!("{url}: expected InvalidUrl, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn connection_errors_never_show_the_password() {
    let server = pg::start().await;
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let urls = [
        // Nobody listens: refused at once (not after the pool's timeout).
        format!("postgres://postgres:hunter2@127.0.0.1:{dead_port}/cockpit"),
        // The server answers: that database does not exist.
        format!("postgres://postgres:hunter2@127.0.0.1:{}/no_such_db", server.port()),
        // The URL does not parse (a port that is not a number).
        "postgres://postgres:hunter2@127.0.0.1:port/cockpit".to_owned(),
    ];
    for url in urls {
        let started = std::time::Instant::now();
        let err = Store::connect(&url).await.expect_err("must fail");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{err} took {:?}", started.elapsed());
        let shown = format!("{err} | {err:?} | {:?}", std::error::Error::source(&err));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("postgres:***@"), "{shown}");
    }
    // And a store's Debug shows the redacted URL only.
    let with_password = server.url().replace("postgres@", "postgres:hunter2@");
    let store = Store::connect(&with_password).await.unwrap();
    let shown = format!("{store:?} {}", store.redacted_url());
    assert!(!shown.contains("hunter2") && shown.contains("***"), "{shown}");
}

#[tokio::test]
async fn databases_are_independent_on_one_server() {
    let server = pg::start().await;
    let other = server.create_database("cockpit_two").await;
    let a = Store::connect(server.url()).await.unwrap();
    let b = Store::connect(&other).await.unwrap();
    new_session(&a, "only-in-a").await;
    assert_eq!(a.list_sessions(true).await.unwrap().len(), 1);
    assert!(b.list_sessions(true).await.unwrap().is_empty());
    assert_eq!(b.backend(), Backend::Postgres);
}
