-- A lease on a document while one sync pass has it in flight, so that no other pass (in this
-- or another process) sends a different version of it at the same time: two requests for one
-- document in flight could reach Chroma in either order (a delete of the old version landing
-- after the upsert of the new one). Released when the outcome is recorded; a lease of a
-- process that died is cleared by the next pass; sync_lease_until bounds a stuck holder.
ALTER TABLE documents ADD COLUMN sync_lease_pid INTEGER;
ALTER TABLE documents ADD COLUMN sync_lease_until INTEGER;
CREATE INDEX documents_leased ON documents(sync_lease_pid) WHERE sync_lease_pid IS NOT NULL;
