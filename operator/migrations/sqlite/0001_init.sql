-- Claude Cockpit's control-plane schema (SQLite dialect; keep in step with ../postgres).
-- Timestamps are unix milliseconds (INTEGER); JSON is TEXT; terminal output is BLOB.

CREATE TABLE sessions (
    id          TEXT    PRIMARY KEY NOT NULL,
    name        TEXT    NOT NULL,
    repo        TEXT    NOT NULL,
    spec        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);
-- A name is unique among the sessions that are not deleted.
CREATE UNIQUE INDEX sessions_live_name ON sessions (name) WHERE deleted_at IS NULL;
CREATE INDEX sessions_created_at ON sessions (created_at);

CREATE TABLE workers (
    session_id  TEXT    PRIMARY KEY NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    pid         INTEGER NOT NULL,
    endpoint    TEXT    NOT NULL,
    account     TEXT    NOT NULL,
    base_offset INTEGER NOT NULL,
    started_at  INTEGER NOT NULL
);

CREATE TABLE session_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    data        TEXT    NOT NULL
);
CREATE INDEX session_events_session ON session_events (session_id, id);

-- Terminal output: contiguous chunks [start_offset, end_offset) starting at 0.
CREATE TABLE output (
    session_id   TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    start_offset INTEGER NOT NULL,
    end_offset   INTEGER NOT NULL,
    data         BLOB    NOT NULL,
    PRIMARY KEY (session_id, start_offset),
    CHECK (start_offset >= 0 AND end_offset > start_offset)
);

CREATE TABLE accounts (
    name          TEXT    PRIMARY KEY NOT NULL,
    priority      INTEGER NOT NULL,
    max_sessions  INTEGER,
    limited_until INTEGER,
    limit_window  TEXT,
    sessions      INTEGER NOT NULL DEFAULT 0,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd      REAL    NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT,
    action      TEXT    NOT NULL,
    session_id  TEXT,
    detail      TEXT    NOT NULL
);

CREATE TABLE push_subscriptions (
    endpoint    TEXT    PRIMARY KEY NOT NULL,
    p256dh      TEXT    NOT NULL,
    auth        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE settings (
    key         TEXT    PRIMARY KEY NOT NULL,
    value       TEXT    NOT NULL
);
