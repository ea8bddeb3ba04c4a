-- Bookkeeping of the migrator (run unprepared: the schema may not exist yet).

-- name: migrations_lock
SELECT pg_advisory_xact_lock(7311996001);

-- name: migrations_create_table
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INT PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);

-- name: migrations_current
SELECT coalesce(max(version), 0) FROM schema_migrations;

-- name: migrations_record
INSERT INTO schema_migrations (version, name) VALUES ($1, $2);

-- name: migrations_forget
DELETE FROM schema_migrations WHERE version = $1;
