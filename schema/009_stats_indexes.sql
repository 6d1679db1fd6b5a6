-- `stats` is polled (the desktop app, `/v1/stats`, MCP index_status): counting by a full scan
-- of `documents` took ~150 ms at 100,000 notes. With these partial indexes each count reads
-- only the rows it counts (plus one pass over the smallest index for the total).
CREATE INDEX documents_tombstoned ON documents(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX documents_noticed ON documents(sync_notice) WHERE sync_notice IS NOT NULL AND deleted_at IS NULL;
