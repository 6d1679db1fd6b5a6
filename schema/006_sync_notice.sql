-- What the vector store does not hold of a synced document, and why (e.g. a note longer than
-- max_chunks_per_document chunks is cut there; keyword search still has all of it).
-- Set with each successful sync, NULL when the document is there in full.
ALTER TABLE documents ADD COLUMN sync_notice TEXT;
