-- Note text moves out of `documents` into its own table, which is also the FTS5 content table.
-- Sync bookkeeping (claims, outcomes, attempts) updates `documents` rows many times per note;
-- with the text inline every such update rewrote the whole note. Now it rewrites ~200 bytes.
-- A row of document_text exists exactly for each live document; tombstones have none.
DROP TRIGGER documents_fts_insert;
DROP TRIGGER documents_fts_delete;
DROP TRIGGER documents_fts_update;
DROP TABLE documents_fts;

CREATE TABLE document_text (
  doc_key INTEGER PRIMARY KEY,  -- documents.doc_key
  title   TEXT NOT NULL,
  body    TEXT NOT NULL
);
INSERT INTO document_text(doc_key, title, body)
  SELECT doc_key, title, body FROM documents WHERE deleted_at IS NULL;
ALTER TABLE documents DROP COLUMN body;

CREATE VIRTUAL TABLE documents_fts USING fts5(
  title, body,
  content = 'document_text', content_rowid = 'doc_key',
  tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO documents_fts(documents_fts) VALUES ('rebuild');

CREATE TRIGGER document_text_insert AFTER INSERT ON document_text BEGIN
  INSERT INTO documents_fts(rowid, title, body) VALUES (new.doc_key, new.title, new.body);
END;
CREATE TRIGGER document_text_delete AFTER DELETE ON document_text BEGIN
  INSERT INTO documents_fts(documents_fts, rowid, title, body)
    VALUES ('delete', old.doc_key, old.title, old.body);
END;
CREATE TRIGGER document_text_update AFTER UPDATE ON document_text BEGIN
  INSERT INTO documents_fts(documents_fts, rowid, title, body)
    VALUES ('delete', old.doc_key, old.title, old.body);
  INSERT INTO documents_fts(rowid, title, body) VALUES (new.doc_key, new.title, new.body);
END;
-- Purging a row takes its text (and index entries) with it.
CREATE TRIGGER documents_purge_text AFTER DELETE ON documents BEGIN
  DELETE FROM document_text WHERE doc_key = old.doc_key;
END;
