#include "app/indexing.h"

#include <thread>

#include "app/convert.h"
#include "app/crash_points.h"

namespace kb::app {

Result<kbindex::IndexReport> IndexFolders(Services& s, const kbindex::IndexRequest& request) {
  const std::vector<std::string>& folders = request.folders.empty() ? s.config().folders : request.folders;
  if (folders.empty()) {
    return Status::InvalidArgument(
        "no folders to index: name them (kbindex index DIR...) or configure \"folders\" in the config file");
  }
  if (request.sync) KB_RETURN_IF_ERROR(s.CheckEmbedderChoice());
  kbindex::IndexReport out;
  auto cancelled = [&] { return request.cancel && request.cancel->load(); };

  // The sync pass starts first and follows the scan, so that sending overlaps scanning.
  SyncEngine* engine = nullptr;
  if (request.sync) {
    auto e = s.Engine();
    if (e.ok()) {
      engine = *e;
    } else {
      out.sync_status = e.status();
    }
  }
  WorkFeed feed;
  SyncReport sync_report;
  std::thread syncer;
  if (engine) {
    syncer = std::thread([&] {
      PassOptions pass;
      pass.kind = "index";
      pass.follow = &feed;
      pass.stop = request.cancel;
      if (request.on_progress) {
        pass.on_progress = [&](const SyncReport& r) {
          kbindex::IndexProgress p;
          p.phase = "sync";
          p.sync = ToPublic(r);
          request.on_progress(p);
        };
      }
      sync_report = engine->Run(pass);
    });
  }

  for (const std::string& folder : folders) {
    if (cancelled()) break;
    ScanOptions opt = FolderScanOptions(s, folder, request.source_name, request.allow_mass_delete);
    if (request.on_progress) {
      opt.on_progress = [&](const ScanReport& r) {
        kbindex::IndexProgress p;
        p.phase = "scan";
        p.folder = folder;
        p.files = r.files_seen;
        p.written = r.written();
        request.on_progress(p);
      };
    }
    opt.on_batch_committed = [&] {
      CrashPoints::Get().Reach("scan-commit");
      feed.Notify();
    };
    auto scanned = ScanFolder(s.store(), opt);
    if (scanned.ok() && scanned->written() > 0) s.NudgeWorker();
    out.folders.push_back(ToFolderReport(folder, scanned, "index " + folder));
  }
  feed.Finish();
  if (syncer.joinable()) syncer.join();
  if (engine) out.sync = ToPublic(sync_report);
  return out;
}

ScanOptions FolderScanOptions(Services& s, const std::string& folder, const std::string& source_name,
                              bool allow_mass_delete) {
  ScanOptions opt;
  opt.root = folder;
  opt.source_name = source_name;
  opt.include = s.config().include;
  opt.exclude = s.config().exclude;
  opt.max_file_bytes = s.config().max_file_bytes;
  opt.allow_mass_delete = allow_mass_delete;
  return opt;
}

kbindex::FolderReport ToFolderReport(const std::string& folder, const Result<ScanReport>& scanned,
                                     const std::string& what) {
  kbindex::FolderReport f;
  f.folder = folder;
  if (!scanned.ok()) {
    f.status = scanned.status().WithContext(what);
    return f;
  }
  const ScanReport& r = *scanned;
  f.source = r.source;
  f.root = r.root;
  f.files = r.files_seen;
  f.added = r.added;
  f.changed = r.changed;
  f.restored = r.restored;
  f.unchanged = r.unchanged;
  f.removed = r.removed;
  f.renamed = r.renamed;
  f.files_read = r.files_read;
  for (const auto& sk : r.skipped) f.skipped.push_back(ToPublic(sk));
  return f;
}

Result<std::vector<kbindex::SkippedFile>> ListSkipped(Services& s, const std::string& source) {
  KB_ASSIGN_OR_RETURN(auto files, s.store().ListSkipped(source));
  std::vector<kbindex::SkippedFile> out;
  out.reserve(files.size());
  for (const auto& f : files) out.push_back(ToPublic(f));
  return out;
}

}  // namespace kb::app
