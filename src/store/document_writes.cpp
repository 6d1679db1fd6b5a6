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
          "synced_chunks=0");
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

Result<std::vector<FileState>> DocumentStore::LoadFileStates(const std::string& source) {
  std::vector<FileState> out;
  Status st = impl_->Read("loading file states", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt(
        "SELECT path, content_hash, coalesce(file_mtime_ns,-1), coalesce(file_size,-1), "
        "deleted_at IS NULL FROM documents WHERE source=? AND path IS NOT NULL");
    q->bind(1, source);
    while (q->executeStep()) {
      out.push_back(FileState{q->getColumn(0).getString(), q->getColumn(1).getString(),
                              q->getColumn(2).getInt64(), q->getColumn(3).getInt64(),
                              q->getColumn(4).getInt() != 0});
    }
  });
  if (!st.ok()) return st;
  return out;
}

Status DocumentStore::ReplaceSkipped(const std::string& source, std::span<const SkippedFile> files) {
  return impl_->Write("recording skipped files", [&](Conn& c) {
    {
      auto q = c.Stmt("DELETE FROM skipped WHERE source=?");
      q->bind(1, source);
      q->exec();
    }
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
  });
}

}  // namespace kb
