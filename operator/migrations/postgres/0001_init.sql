-- Claude Cockpit's control-plane schema (PostgreSQL dialect; keep in step with ../sqlite).
-- Timestamps are unix milliseconds (BIGINT); JSON is TEXT; terminal output is BYTEA.

CREATE TABLE sessions (
    id          TEXT   PRIMARY KEY,
    name        TEXT   NOT NULL,
    repo        TEXT   NOT NULL,
    spec        TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted_at  BIGINT
);
-- A name is unique among the sessions that are not deleted.
CREATE UNIQUE INDEX sessions_live_name ON sessions (name) WHERE deleted_at IS NULL;
CREATE INDEX sessions_created_at ON sessions (created_at);

CREATE TABLE workers (
    session_id  TEXT   PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    pid         BIGINT NOT NULL,
    endpoint    TEXT   NOT NULL,
    account     TEXT   NOT NULL,
    base_offset BIGINT NOT NULL,
    started_at  BIGINT NOT NULL
);

CREATE TABLE session_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    data        TEXT   NOT NULL
);
CREATE INDEX session_events_session ON session_events (session_id, id);

-- Terminal output: contiguous chunks [start_offset, end_offset) starting at 0.
CREATE TABLE output (
    session_id   TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    start_offset BIGINT NOT NULL,
    end_offset   BIGINT NOT NULL,
    data         BYTEA  NOT NULL,
    PRIMARY KEY (session_id, start_offset),
    CHECK (start_offset >= 0 AND end_offset > start_offset)
);

CREATE TABLE accounts (
    name          TEXT   PRIMARY KEY,
    priority      BIGINT NOT NULL,
    max_sessions  BIGINT,
    limited_until BIGINT,
    limit_window  TEXT,
    sessions      BIGINT NOT NULL DEFAULT 0,
    input_tokens  BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    cost_usd      DOUBLE PRECISION NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE audit (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT,
    action      TEXT   NOT NULL,
    session_id  TEXT,
    detail      TEXT   NOT NULL
);

CREATE TABLE push_subscriptions (
    endpoint    TEXT   PRIMARY KEY,
    p256dh      TEXT   NOT NULL,
    auth        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE settings (
    key         TEXT   PRIMARY KEY,
    value       TEXT   NOT NULL
);
