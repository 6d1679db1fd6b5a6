-- Keyword search: an external-content FTS5 index over title and body, kept in step by triggers.
-- Only title/body changes touch the index, so sync-status updates cause no FTS churn.
-- Tombstones blank title and body, which removes them from the index at once while the
-- index stays exactly equal to the table (the FTS5 'integrity-check' compares the two).
CREATE VIRTUAL TABLE documents_fts USING fts5(
  title, body,
  content = 'documents', content_rowid = 'doc_key',
  tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
  INSERT INTO documents_fts(rowid, title, body) VALUES (new.doc_key, new.title, new.body);
END;

CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
  INSERT INTO documents_fts(documents_fts, rowid, title, body)
    VALUES ('delete', old.doc_key, old.title, old.body);
END;

CREATE TRIGGER documents_fts_update AFTER UPDATE OF title, body ON documents
  WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
  INSERT INTO documents_fts(documents_fts, rowid, title, body)
    VALUES ('delete', old.doc_key, old.title, old.body);
  INSERT INTO documents_fts(rowid, title, body) VALUES (new.doc_key, new.title, new.body);
END;
