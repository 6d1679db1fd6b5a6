-- Zero-downtime embedder switch: while a new collection is built beside the active one, this
-- records what was sent to it per document. At the switch the documents' sync columns are
-- rewritten from it in one transaction, then it is emptied.
CREATE TABLE shadow_sync (
  doc_key      INTEGER PRIMARY KEY,
  content_hash TEXT NOT NULL,
  chunks       INTEGER NOT NULL
);
