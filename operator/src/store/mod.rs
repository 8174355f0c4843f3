//! Persistence (sqlx): SQLite by default, PostgreSQL when `DATABASE_URL` says so.
