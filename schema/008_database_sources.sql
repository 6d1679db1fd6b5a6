-- Database sources: notes read out of another application's SQLite file or PostgreSQL
-- database. A source's kind may now be 'sqlite' or 'postgres' (SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with the same rows).
CREATE TABLE sources_new (
  name         TEXT PRIMARY KEY,
  kind         TEXT NOT NULL CHECK (kind IN ('folder', 'api', 'sqlite', 'postgres')),
  root         TEXT,                        -- absolute path for folders, NULL otherwise
  created_at   INTEGER NOT NULL,
  last_scan_at INTEGER
);
INSERT INTO sources_new(name, kind, root, created_at, last_scan_at)
  SELECT name, kind, root, created_at, last_scan_at FROM sources;
DROP TABLE sources;
ALTER TABLE sources_new RENAME TO sources;
CREATE UNIQUE INDEX sources_root ON sources(root) WHERE root IS NOT NULL;

-- How far each database source has been applied, written only after the documents it covers
-- committed (so a crash can only make kbindex read something again, never skip it), and the
-- outcome of its last run (shown per source in stats and health).
CREATE TABLE source_progress (
  source        TEXT PRIMARY KEY,
  watermark_ms  INTEGER,                  -- incremental: largest updated_at applied (Unix ms)
  event_cursor  INTEGER,                  -- outbox: events up to here are applied or waited for
  event_gaps    TEXT NOT NULL DEFAULT '[]', -- outbox: [[lo, hi, first_seen_ms], ...] ids skipped
                                          -- over, read again until they appear or time out
  last_run_at   INTEGER,
  last_mode     TEXT,
  last_ok_at    INTEGER,
  last_full_at  INTEGER,                  -- last complete full read
  last_error    TEXT,                     -- NULL after a successful run; never holds credentials
  error_since   INTEGER,                  -- first failure of the current streak
  lease_pid     INTEGER,                  -- one run per source at a time, across processes
  lease_token   TEXT,
  lease_until   INTEGER
);
