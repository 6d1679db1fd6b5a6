-- Core tables. SQLite is the source of truth; Chroma is a derived index that converges to it.
-- Times are Unix milliseconds (UTC).

-- A source is a folder that `kbindex index` scans, or the local API ('api').
CREATE TABLE sources (
  name         TEXT PRIMARY KEY,
  kind         TEXT NOT NULL CHECK (kind IN ('folder', 'api')),
  root         TEXT,                        -- absolute path for folders, NULL for the API
  created_at   INTEGER NOT NULL,
  last_scan_at INTEGER
);
CREATE UNIQUE INDEX sources_root ON sources(root) WHERE root IS NOT NULL;

CREATE TABLE documents (
  doc_key           INTEGER PRIMARY KEY,      -- stable rowid for the FTS5 external content
  id                TEXT NOT NULL UNIQUE,     -- '<source>:<relative path>' or the API's id
  source            TEXT NOT NULL,
  path              TEXT,                     -- relative to the source root; NULL for API notes
  title             TEXT NOT NULL DEFAULT '',
  body              TEXT NOT NULL DEFAULT '', -- text without frontmatter; '' once tombstoned
  metadata          TEXT NOT NULL DEFAULT '{}', -- JSON object (frontmatter or API metadata)
  content_hash      TEXT NOT NULL,
  file_mtime_ns     INTEGER,
  file_size         INTEGER,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  deleted_at        INTEGER,                  -- tombstone: row purged once Chroma forgot it
  sync_status       TEXT NOT NULL DEFAULT 'pending'
                    CHECK (sync_status IN ('pending', 'synced', 'failed')),
  sync_attempts     INTEGER NOT NULL DEFAULT 0,
  last_sync_attempt INTEGER,
  sync_error        TEXT,
  synced_hash       TEXT,                     -- content_hash Chroma holds for this doc
  synced_chunks     INTEGER NOT NULL DEFAULT 0, -- chunks Chroma holds for synced_hash
  chunks_hwm        INTEGER NOT NULL DEFAULT 0  -- most chunks ever possibly sent: delete up to here
);
CREATE INDEX documents_source_path ON documents(source, path);
CREATE INDEX documents_unsynced ON documents(sync_status, last_sync_attempt)
  WHERE sync_status <> 'synced';

-- Files a scan could not index, with the reason; replaced on every scan of the source.
CREATE TABLE skipped (
  source        TEXT NOT NULL,
  path          TEXT NOT NULL,
  reason        TEXT NOT NULL,
  detail        TEXT NOT NULL DEFAULT '',
  file_size     INTEGER,
  file_mtime_ns INTEGER,
  seen_at       INTEGER NOT NULL,
  PRIMARY KEY (source, path)
) WITHOUT ROWID;

-- One row per sync pass (index, sync, worker, reindex, repair).
CREATE TABLE sync_runs (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  attempted   INTEGER NOT NULL DEFAULT 0,
  synced      INTEGER NOT NULL DEFAULT 0,
  failed      INTEGER NOT NULL DEFAULT 0,
  deleted     INTEGER NOT NULL DEFAULT 0,
  batches     INTEGER NOT NULL DEFAULT 0,
  error       TEXT
);

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
