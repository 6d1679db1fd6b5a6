-- A renamed (moved) file keeps its row: same doc_key, created_at and sync history; only its id
-- and path change. Chroma chunk ids are derived from the document id, so the chunks stored
-- under the old id must move too. Until a sync pass has moved them (copying the stored
-- vectors to the new ids when the note's text is unchanged, then deleting the old ids),
-- each old id whose chunks may still be in Chroma is recorded here with its chunk high-water
-- mark: a crash at any point leaves enough to finish the move, and a deletion of the note
-- deletes them as well. Cleared when the row is recorded synced under its new id.
CREATE TABLE document_moves (
  doc_key  INTEGER NOT NULL,   -- documents.doc_key
  old_id   TEXT NOT NULL,      -- a former id of the document
  chunks   INTEGER NOT NULL,   -- chunks that may exist under old_id (0..chunks-1)
  moved_at INTEGER NOT NULL,   -- newest first when choosing vectors to reuse
  PRIMARY KEY (doc_key, old_id)
) WITHOUT ROWID;

-- A document whose id is another one's former id waits for that move (see DueForSync).
CREATE INDEX document_moves_old_id ON document_moves(old_id);

-- Purging a row takes its pending moves with it (its deletion covered their chunks).
CREATE TRIGGER documents_purge_moves AFTER DELETE ON documents BEGIN
  DELETE FROM document_moves WHERE doc_key = old.doc_key;
END;
