// What scanners and the API write: documents (with their text), file states, skipped files.
#include "store/document_store.h"

#include "store/store_impl.h"

namespace kb {

Result<std::vector<PutOutcome>> DocumentStore::PutDocuments(std::span<const DocumentInput> docs) {
  std::vector<PutOutcome> out;
  const int64_t now = clock_->NowMs();
  Status st = impl_->Write("writing documents", [&](Conn& c) {
    out.clear();
    out.reserve(docs.size());
    std::vector<TextRow> texts;
    for (const DocumentInput& d : docs) {
      int64_t key = 0;
      std::string old_hash;
      bool exists = false, live = false, foreign = false;
      {
        auto q = c.Stmt(
            "SELECT doc_key, content_hash, deleted_at IS NULL, source <> ? FROM documents WHERE id=?");
        q->bind(1, d.source);
        q->bind(2, d.id);
        if (q->executeStep()) {
          exists = true;
          key = q->getColumn(0).getInt64();
          old_hash = q->getColumn(1).getString();
          live = q->getColumn(2).getInt() != 0;
          foreign = q->getColumn(3).getInt() != 0;
        }
      }
      if (foreign) {
        out.push_back(PutOutcome::kConflict);
      } else if (!exists) {
        {
          auto q = c.Stmt(
              "INSERT INTO documents(id, source, path, title, metadata, content_hash, "
              "file_mtime_ns, file_size, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)");
          q->bind(1, d.id);
          q->bind(2, d.source);
          BindOpt(*q, 3, d.path);
          q->bindNoCopy(4, d.title);
          q->bindNoCopy(5, d.metadata_json);
          q->bind(6, d.content_hash);
          BindOpt(*q, 7, d.file_mtime_ns);
          BindOpt(*q, 8, d.file_size);
          q->bind(9, now);
          q->bind(10, now);
          q->exec();
        }
        texts.push_back(TextRow{c.db.getLastInsertRowid(), &d.title, &d.body});
        out.push_back(PutOutcome::kInserted);
      } else if (live && old_hash == d.content_hash) {
        auto q = c.Stmt(
            "UPDATE documents SET file_mtime_ns=?, file_size=? WHERE doc_key=? AND "
            "(file_mtime_ns IS NOT ? OR file_size IS NOT ?)");
        BindOpt(*q, 1, d.file_mtime_ns);
        BindOpt(*q, 2, d.file_size);
        q->bind(3, key);
        BindOpt(*q, 4, d.file_mtime_ns);
        BindOpt(*q, 5, d.file_size);
        q->exec();
        out.push_back(PutOutcome::kUnchanged);
      } else {
        {
          auto q = c.Stmt(
              "UPDATE documents SET source=?, path=?, title=?, metadata=?, content_hash=?, "
              "file_mtime_ns=?, file_size=?, updated_at=?, deleted_at=NULL, sync_status='pending', "
              "sync_attempts=0, last_sync_attempt=NULL, sync_error=NULL WHERE doc_key=?");
          q->bind(1, d.source);
          BindOpt(*q, 2, d.path);
          q->bindNoCopy(3, d.title);
          q->bindNoCopy(4, d.metadata_json);
          q->bind(5, d.content_hash);
          BindOpt(*q, 6, d.file_mtime_ns);
          BindOpt(*q, 7, d.file_size);
          q->bind(8, now);
          q->bind(9, key);
          q->exec();
        }
        texts.push_back(TextRow{key, &d.title, &d.body});
        out.push_back(live ? PutOutcome::kChanged : PutOutcome::kRestored);
      }
    }
    c.WriteTexts(texts);
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<bool>> DocumentStore::RenameDocuments(std::span<const RenameInput> renames) {
  std::vector<bool> out;
  if (renames.empty()) return out;
  const int64_t now = clock_->NowMs();
  Status st = impl_->Write("renaming documents", [&](Conn& c) {
    out.assign(renames.size(), false);
    std::vector<TextRow> texts;
    for (size_t i = 0; i < renames.size(); ++i) {
      const RenameInput& r = renames[i];
      const DocumentInput& d = r.doc;
      int64_t key = 0;
      int known = 0;
      {
        auto q = c.Stmt(
            "SELECT doc_key, max(chunks_hwm, synced_chunks) FROM documents WHERE id=? AND source=? AND "
            "deleted_at IS NULL AND content_hash=?");
        q->bind(1, r.old_id);
        q->bind(2, d.source);
        q->bind(3, d.content_hash);
        if (!q->executeStep()) continue;  // changed, gone or not ours since the caller looked
        key = q->getColumn(0).getInt64();
        known = q->getColumn(1).getInt();
      }
      {
        auto q = c.Stmt("SELECT 1 FROM documents WHERE id=?");
        q->bind(1, d.id);
        if (q->executeStep()) continue;  // the new id is taken (a tombstone, or another source)
      }
      if (known > 0) {
        // The vector store may hold chunks under the old id: the next sync moves them.
        auto q = c.Stmt(
            "INSERT INTO document_moves(doc_key, old_id, chunks, moved_at) VALUES (?,?,?,?) "
            "ON CONFLICT(doc_key, old_id) DO UPDATE SET chunks=max(chunks, excluded.chunks), "
            "moved_at=excluded.moved_at");
        q->bind(1, key);
        q->bind(2, r.old_id);
        q->bind(3, known);
        q->bind(4, now);
        q->exec();
      }
      // Moved back to an id it had before: those chunks are the document's own again (and
      // will be overwritten or deleted by the next sync, up to this high-water mark).
      int back = 0;
      {
        auto q = c.Stmt("SELECT chunks FROM document_moves WHERE doc_key=? AND old_id=?");
        q->bind(1, key);
        q->bind(2, d.id);
        if (q->executeStep()) back = q->getColumn(0).getInt();
      }
      if (back > 0) {
        auto q = c.Stmt("DELETE FROM document_moves WHERE doc_key=? AND old_id=?");
        q->bind(1, key);
        q->bind(2, d.id);
        q->exec();
      }
      {
        auto q = c.Stmt(
            "UPDATE documents SET id=?, path=?, title=?, metadata=?, file_mtime_ns=?, file_size=?, "
            "updated_at=?, sync_status='pending', sync_attempts=0, last_sync_attempt=NULL, "
            "sync_error=NULL, synced_hash=NULL, synced_chunks=0, chunks_hwm=? WHERE doc_key=?");
        q->bind(1, d.id);
        BindOpt(*q, 2, d.path);
        q->bindNoCopy(3, d.title);
        q->bindNoCopy(4, d.metadata_json);
        BindOpt(*q, 5, d.file_mtime_ns);
        BindOpt(*q, 6, d.file_size);
        q->bind(7, now);
        q->bind(8, back);
        q->bind(9, key);
        q->exec();
      }
      {
        // A collection being built beside the active one holds it under the old id: rebuild.
        auto q = c.Stmt("DELETE FROM shadow_sync WHERE doc_key=?");
        q->bind(1, key);
        q->exec();
      }
      // The title may come from the file name, and a new extension may change how the text
      // is read: the text is rewritten from the new file.
      texts.push_back(TextRow{key, &d.title, &d.body});
      out[i] = true;
    }
    c.WriteTexts(texts);
  });
  if (!st.ok()) return st;
  return out;
}

Status DocumentStore::UpdateFileStats(std::span<const FileState> states, const std::string& source) {
  if (states.empty()) return Status::Ok();
  return impl_->Write("updating file stats", [&](Conn& c) {
    for (const FileState& s : states) {
      auto q = c.Stmt(
          "UPDATE documents SET file_mtime_ns=?, file_size=? WHERE source=? AND path=? AND "
          "content_hash=?");
      q->bind(1, s.mtime_ns);
      q->bind(2, s.size);
      q->bind(3, source);
      q->bind(4, s.path);
      q->bind(5, s.content_hash);
      q->exec();
    }
  });
}

Result<int> DocumentStore::Tombstone(std::span<const std::string> ids) {
  int removed = 0;
  const int64_t now = clock_->NowMs();
  Status st = impl_->Write("tombstoning documents", [&](Conn& c) {
    removed = 0;
    for (const std::string& id : ids) {
      // Never sent to the vector store: nothing to delete there, drop the row now.
      auto del = c.Stmt(
          "DELETE FROM documents WHERE id=? AND deleted_at IS NULL AND chunks_hwm=0 AND "
          "synced_chunks=0 AND NOT EXISTS (SELECT 1 FROM document_moves m WHERE "
          "m.doc_key=documents.doc_key)");
      del->bind(1, id);
      int n = del->exec();
      if (n == 0) {
        auto q = c.Stmt(
            "UPDATE documents SET deleted_at=?, updated_at=?, sync_status='pending', "
            "sync_attempts=0, last_sync_attempt=NULL, sync_error=NULL "
            "WHERE id=? AND deleted_at IS NULL");
        q->bind(1, now);
        q->bind(2, now);
        q->bind(3, id);
        n = q->exec();
        if (n > 0) {
          // Out of keyword search at once (the FTS trigger follows the text row).
          auto t = c.Stmt("DELETE FROM document_text WHERE doc_key=(SELECT doc_key FROM documents WHERE id=?)");
          t->bind(1, id);
          t->exec();
        }
      }
      removed += n;
    }
  });
  if (!st.ok()) return st;
  return removed;
}

namespace {

// Columns: path, content_hash, file_mtime_ns (-1 if none), file_size (-1 if none), live.
FileState ReadFileState(SQLite::Statement& q) {
  return FileState{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64(),
                   q.getColumn(3).getInt64(), q.getColumn(4).getInt() != 0};
}

// Binds `index` and `index + 1` to the bounds of the paths below folder `p` ("" : every path):
// "p/" <= path < "p0" ('0' follows '/').
void BindBelow(SQLite::Statement& q, int index, const std::string& p) {
  q.bind(index, p.empty() ? std::string() : p + "/");
  q.bind(index + 1, p.empty() ? std::string("\xff\xff") : p + "0");
}

}  // namespace

Result<std::vector<FileState>> DocumentStore::LoadFileStates(const std::string& source) {
  std::vector<FileState> out;
  Status st = impl_->Read("loading file states", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt(
        "SELECT path, content_hash, coalesce(file_mtime_ns,-1), coalesce(file_size,-1), "
        "deleted_at IS NULL FROM documents WHERE source=? AND path IS NOT NULL");
    q->bind(1, source);
    while (q->executeStep()) {
      out.push_back(ReadFileState(*q));
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<FileState>> DocumentStore::LoadFileStatesUnder(const std::string& source,
                                                                std::span<const std::string> paths) {
  std::vector<FileState> out;
  Status st = impl_->Read("loading file states", [&](Conn& c) {
    out.clear();
    // The path itself, and everything below it as a folder: "p/" <= path < "p0" ('0' follows '/').
    auto q = c.Stmt(
        "SELECT path, content_hash, coalesce(file_mtime_ns,-1), coalesce(file_size,-1), "
        "deleted_at IS NULL FROM documents WHERE source=?1 AND (path=?2 OR (path>=?3 AND path<?4))");
    for (const std::string& p : paths) {
      q->reset();
      q->bind(1, source);
      q->bind(2, p);
      BindBelow(*q, 3, p);
      while (q->executeStep()) {
        out.push_back(ReadFileState(*q));
      }
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<int64_t> DocumentStore::CountLive(const std::string& source) {
  int64_t n = 0;
  Status st = impl_->Read("counting documents", [&](Conn& c) {
    auto q = c.Stmt("SELECT count(*) FROM documents WHERE source=? AND deleted_at IS NULL");
    q->bind(1, source);
    n = q->executeStep() ? q->getColumn(0).getInt64() : 0;
  });
  if (!st.ok()) return st;
  return n;
}

void InsertSkipped(Conn& c, const std::string& source, std::span<const SkippedFile> files) {
  for (const SkippedFile& f : files) {
    auto q = c.Stmt(
        "INSERT OR REPLACE INTO skipped(source, path, reason, detail, file_size, "
        "file_mtime_ns, seen_at) VALUES (?,?,?,?,?,?,?)");
    q->bind(1, source);
    q->bind(2, f.path);
    q->bind(3, f.reason);
    q->bind(4, f.detail);
    BindOpt(*q, 5, f.file_size);
    BindOpt(*q, 6, f.file_mtime_ns);
    q->bind(7, f.seen_at);
    q->exec();
  }
}

Status DocumentStore::ReplaceSkippedUnder(const std::string& source, std::span<const std::string> paths,
                                          std::span<const SkippedFile> files) {
  return impl_->Write("recording skipped files", [&](Conn& c) {
    for (const std::string& p : paths) {
      auto q = c.Stmt("DELETE FROM skipped WHERE source=?1 AND (path=?2 OR (path>=?3 AND path<?4))");
      q->bind(1, source);
      q->bind(2, p.empty() ? std::string(".") : p);
      BindBelow(*q, 3, p);  // "": the whole folder
      q->exec();
    }
    InsertSkipped(c, source, files);
  });
}

Status DocumentStore::ReplaceSkipped(const std::string& source, std::span<const SkippedFile> files) {
  return impl_->Write("recording skipped files", [&](Conn& c) {
    {
      auto q = c.Stmt("DELETE FROM skipped WHERE source=?");
      q->bind(1, source);
      q->exec();
    }
    InsertSkipped(c, source, files);
  });
}

}  // namespace kb
