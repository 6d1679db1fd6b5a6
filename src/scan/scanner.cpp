#include "scan/scanner.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "scan/markdown.h"
#include "util/hash.h"
#include "util/utf8.h"

namespace kb {
namespace {

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct DirKey {
  dev_t dev;
  ino_t ino;
  bool operator<(const DirKey& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
};

enum class ReadResult { kOk, kVanished, kUnreadable, kTooLarge };

// Reads a whole file, refusing to read more than max_bytes.
ReadResult ReadFile(const std::string& path, int64_t max_bytes, std::string* out, int* err) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    return errno == ENOENT ? ReadResult::kVanished : ReadResult::kUnreadable;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    *err = errno;
    ::close(fd);
    return ReadResult::kUnreadable;
  }
  if (st.st_size > max_bytes) {
    ::close(fd);
    return ReadResult::kTooLarge;
  }
  out->clear();
  out->resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  for (;;) {
    // At the size fstat gave (usually the end), look with a small buffer rather than growing
    // the string, which would double its capacity: 19 MB held for a 9.5 MB note.
    const bool at_size = got == out->size();
    if (at_size && static_cast<int64_t>(got) > max_bytes) break;
    char probe[4096];
    const ssize_t n = at_size ? ::read(fd, probe, sizeof probe) : ::read(fd, out->data() + got, out->size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      ::close(fd);
      return ReadResult::kUnreadable;
    }
    if (n == 0) break;
    if (at_size) out->append(probe, static_cast<size_t>(n));  // the file grew since fstat
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out->resize(got);
  if (static_cast<int64_t>(got) > max_bytes) return ReadResult::kTooLarge;
  return ReadResult::kOk;
}

class FolderScan {
 public:
  FolderScan(DocumentStore& store, const ScanOptions& options, std::string root, std::string source)
      : store_(store), opt_(options), root_(std::move(root)) {
    report_.source = std::move(source);
    report_.root = root_;
  }

  // The whole folder.
  Result<ScanReport> Run() {
    KB_ASSIGN_OR_RETURN(auto states, store_.LoadFileStates(report_.source));
    int64_t live = 0;
    for (auto& s : states) {
      if (s.live) ++live;
      known_.emplace(s.path, std::move(s));
    }
    KB_RETURN_IF_ERROR(LoadSkipped());

    struct stat root_st {};
    if (::stat(root_.c_str(), &root_st) != 0 || !S_ISDIR(root_st.st_mode)) {
      if (live > 0 && !opt_.allow_mass_delete) return MissingFolder(live);
      if (live == 0) return Status::NotFound("folder does not exist: " + root_);
    } else {
      std::set<DirKey> ancestors;
      Walk(root_, "", root_st, ancestors);
    }
    KB_RETURN_IF_ERROR(write_status_);
    KB_RETURN_IF_ERROR(Flush());
    KB_RETURN_IF_ERROR(Finish(live, report_.files_seen == 0));
    KB_RETURN_IF_ERROR(store_.ReplaceSkipped(report_.source, report_.skipped));
    KB_RETURN_IF_ERROR(store_.MarkScanned(report_.source));
    store_.MergeKeywordIndexAfter(report_.written(), opt_.merge_index_after);
    return std::move(report_);
  }

  // Only `paths` (relative to the root; "" is the whole folder).
  Result<ScanReport> RunPaths(std::vector<std::string> paths) {
    for (std::string& p : paths) {
      while (!p.empty() && p.back() == '/') p.pop_back();
      while (p.starts_with("./")) p.erase(0, 2);
    }
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    // A path inside another given one is covered by that one's walk.
    {
      std::unordered_set<std::string> given(paths.begin(), paths.end());
      std::erase_if(paths, [&](const std::string& p) {
        if (p.empty()) return false;
        if (given.count("")) return true;
        for (size_t slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1)) {
          if (given.count(p.substr(0, slash))) return true;
        }
        return false;
      });
    }
    paths_mode_ = true;
    KB_ASSIGN_OR_RETURN(auto states, store_.LoadFileStatesUnder(report_.source, paths));
    for (auto& s : states) known_.emplace(s.path, std::move(s));
    KB_ASSIGN_OR_RETURN(int64_t live, store_.CountLive(report_.source));
    KB_RETURN_IF_ERROR(LoadSkipped());

    struct stat root_st {};
    if (::stat(root_.c_str(), &root_st) != 0 || !S_ISDIR(root_st.st_mode)) {
      if (live > 0 && !opt_.allow_mass_delete) return MissingFolder(live);
      if (live == 0) return Status::NotFound("folder does not exist: " + root_);
      paths.clear();  // everything known under them is gone (allowed)
    }
    for (const std::string& rel : paths) {
      if (!write_status_.ok()) break;
      VisitPath(rel);
    }
    KB_RETURN_IF_ERROR(write_status_);
    KB_RETURN_IF_ERROR(Flush());
    KB_RETURN_IF_ERROR(Finish(live, FolderLooksEmpty()));
    KB_RETURN_IF_ERROR(store_.ReplaceSkippedUnder(report_.source, paths, report_.skipped));
    return std::move(report_);
  }

 private:
  Status LoadSkipped() {
    KB_ASSIGN_OR_RETURN(auto skipped_before, store_.ListSkipped(report_.source));
    for (auto& s : skipped_before) previously_skipped_.emplace(s.path, std::move(s));
    return Status::Ok();
  }

  Status MissingFolder(int64_t live) const {
    return Status::Aborted("source folder " + root_ + " is missing or not a folder, and " +
                           std::to_string(live) + " documents of source '" + report_.source +
                           "' would be removed; is it unmounted? Re-run with "
                           "--allow-mass-delete if they really are gone");
  }

  // True when the root holds no visible entry at all (an unmounted disk leaves its empty
  // mount point behind).
  bool FolderLooksEmpty() const {
    DIR* d = ::opendir(root_.c_str());
    if (!d) return true;
    bool empty = true;
    while (dirent* ent = ::readdir(d)) {
      if (ent->d_name[0] != '.') {
        empty = false;
        break;
      }
    }
    ::closedir(d);
    return empty;
  }

  // After the walk: moved files are paired with the rows they left, what is really gone is
  // checked against the safety valve and tombstoned.
  Status Finish(int64_t live, bool folder_empty) {
    // Live rows whose file was not seen (and is not under an unreadable folder).
    std::unordered_set<std::string> gone;
    for (const auto& [path, state] : known_) {
      if (!state.live || seen_.count(path)) continue;
      bool protected_path = false;
      for (const std::string& prefix : unreadable_dirs_) {
        if (path.starts_with(prefix)) {
          protected_path = true;
          break;
        }
      }
      if (!protected_path) gone.insert(path);
    }
    KB_RETURN_IF_ERROR(PairMoves(gone));

    if (!gone.empty() && !opt_.allow_mass_delete) {
      const double share = live > 0 ? static_cast<double>(gone.size()) / static_cast<double>(live) : 1.0;
      if (folder_empty || share > opt_.mass_delete_ratio) {
        char pct[16];
        std::snprintf(pct, sizeof pct, "%.0f%%", share * 100.0);
        return Status::Aborted(
            "refusing to remove " + std::to_string(gone.size()) + " of " + std::to_string(live) +
            " documents (" + pct + ") of source '" + report_.source + "': " +
            (folder_empty ? "the folder " + root_ + " has no matching files (unmounted or emptied?)"
                          : "more than " + std::to_string(static_cast<int>(opt_.mass_delete_ratio * 100)) +
                                "% of its files are gone") +
            ". Nothing was removed; re-run with --allow-mass-delete if this is intended");
      }
    }
    std::vector<std::string> ids;
    ids.reserve(gone.size());
    for (const std::string& path : gone) ids.push_back(report_.source + ":" + path);
    std::sort(ids.begin(), ids.end());
    for (size_t i = 0; i < ids.size(); i += 500) {
      const size_t n = std::min<size_t>(500, ids.size() - i);
      KB_ASSIGN_OR_RETURN(int removed, store_.Tombstone(std::span<const std::string>(ids.data() + i, n)));
      report_.removed += removed;
    }
    if (!ids.empty() && opt_.on_batch_committed) opt_.on_batch_committed();
    return Status::Ok();
  }

  // Files held back because their content matched a known row (see VisitFile) become renames
  // of a row whose file is gone, one to one; the others are written as new documents.
  Status PairMoves(std::unordered_set<std::string>& gone) {
    if (moved_in_.empty()) return Status::Ok();
    std::vector<RenameInput> renames;
    std::vector<std::string> sources;
    for (DocumentInput& d : moved_in_) {
      std::string from;
      auto [lo, hi] = live_by_hash_.equal_range(d.content_hash);
      for (auto it = lo; it != hi; ++it) {
        if (gone.count(it->second)) {
          from = it->second;
          break;
        }
      }
      if (from.empty()) {
        batch_.push_back(std::move(d));
        continue;
      }
      gone.erase(from);
      sources.push_back(from);
      renames.push_back(RenameInput{report_.source + ":" + from, std::move(d)});
    }
    moved_in_.clear();
    for (size_t start = 0; start < renames.size(); start += opt_.batch_docs) {
      const size_t n = std::min(opt_.batch_docs, renames.size() - start);
      KB_ASSIGN_OR_RETURN(auto applied,
                          store_.RenameDocuments(std::span<const RenameInput>(renames.data() + start, n)));
      for (size_t i = 0; i < n; ++i) {
        if (applied[i]) {
          ++report_.renamed;
        } else {
          // Changed meanwhile, or the new id is taken: an ordinary write and removal.
          gone.insert(sources[start + i]);
          batch_.push_back(std::move(renames[start + i].doc));
        }
      }
    }
    if (report_.renamed > 0 && opt_.on_batch_committed) opt_.on_batch_committed();
    return Flush();
  }

  bool Included(const std::string& rel) const {
    bool inc = false;
    for (const auto& p : opt_.include) {
      if (MatchesGlob(p, rel)) {
        inc = true;
        break;
      }
    }
    return inc && !Excluded(rel);
  }
  bool Excluded(const std::string& rel) const {
    for (const auto& p : opt_.exclude) {
      if (MatchesGlob(p, rel)) return true;
    }
    return false;
  }

  void Skip(const std::string& rel, const char* reason, std::string detail,
            std::optional<int64_t> size = std::nullopt,
            std::optional<int64_t> mtime = std::nullopt) {
    report_.skipped.push_back(SkippedFile{report_.source, rel, reason, std::move(detail), size,
                                          mtime, store_.clock()->NowMs()});
  }

  // One path of ScanPaths: checked against the rules a walk from the root would apply on its
  // way down (hidden or excluded folders are never entered), then visited like a folder entry.
  // A path that is not there, or not eligible, is simply not seen: its rows are gone.
  void VisitPath(const std::string& rel) {
    if (rel.empty()) {
      struct stat st {};
      if (::stat(root_.c_str(), &st) != 0) return;
      std::set<DirKey> ancestors;
      Walk(root_, "", st, ancestors);
      return;
    }
    std::set<DirKey> ancestors;
    struct stat st {};
    if (::stat(root_.c_str(), &st) != 0) return;
    ancestors.insert(DirKey{st.st_dev, st.st_ino});
    size_t from = 0;
    for (;;) {
      const size_t slash = rel.find('/', from);
      const std::string name = rel.substr(from, slash == std::string::npos ? std::string::npos : slash - from);
      if (name.empty() || name[0] == '.') return;  // hidden, like the walk: never entered
      if (slash == std::string::npos) break;
      const std::string dir_rel = rel.substr(0, slash);
      if (Excluded(dir_rel) || Excluded(dir_rel + "/")) return;
      const std::string dir_full = root_ + "/" + dir_rel;
      if (::stat(dir_full.c_str(), &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR) Protect(dir_rel, errno);
        return;
      }
      if (!S_ISDIR(st.st_mode)) return;
      const DirKey key{st.st_dev, st.st_ino};
      if (ancestors.count(key)) return;  // a link loop: the walk never goes there
      ancestors.insert(key);
      from = slash + 1;
    }
    VisitEntry(root_ + "/" + rel, rel, ancestors);
  }

  // ScanPaths: a path whose state cannot be read. What we knew at or under it is kept, as for
  // an unreadable folder in a walk.
  void Protect(const std::string& rel, int err) {
    Skip(rel, "unreadable", std::string("cannot read: ") + std::strerror(err));
    unreadable_dirs_.push_back(rel);
  }

  void Walk(const std::string& dir, const std::string& rel_prefix, const struct stat& dir_st,
            std::set<DirKey>& ancestors) {
    if (!write_status_.ok()) return;
    const DirKey key{dir_st.st_dev, dir_st.st_ino};
    visited_dirs_.insert(key);
    ancestors.insert(key);
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
      const int e = errno;
      const std::string rel_dir = rel_prefix.empty() ? "." : rel_prefix;
      Skip(rel_dir, "unreadable", std::string("cannot open folder: ") + std::strerror(e));
      unreadable_dirs_.push_back(rel_prefix);  // keep what we knew under it
      ancestors.erase(key);
      return;
    }
    std::vector<std::string> names;
    while (dirent* ent = ::readdir(d)) {
      if (ent->d_name[0] == '.') continue;  // ., .., hidden files and folders, .git
      names.emplace_back(ent->d_name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      VisitEntry(dir + "/" + name, rel_prefix + name, ancestors);
      if (!write_status_.ok()) return;
    }
    ancestors.erase(key);
  }

  // One entry of a folder: followed when it is a link, walked when it is a folder, indexed
  // when it is an included file.
  void VisitEntry(const std::string& full, const std::string& rel, std::set<DirKey>& ancestors) {
    struct stat lst {};
    if (::lstat(full.c_str(), &lst) != 0) {
      // Vanished between readdir and lstat (or, for ScanPaths, simply gone).
      if (paths_mode_ && errno != ENOENT && errno != ENOTDIR) Protect(rel, errno);
      return;
    }
    struct stat st = lst;
    if (S_ISLNK(lst.st_mode)) {
      if (::stat(full.c_str(), &st) != 0) {
        const int e = errno;
        if (Included(rel) || e == ELOOP) {
          if (e == ELOOP) {
            Skip(rel, "symlink_loop", "symbolic link loop");
          } else if (e == ENOENT) {
            Skip(rel, "dangling_symlink", "symbolic link points to nothing");
          } else {
            Skip(rel, "unreadable", std::string("cannot follow link: ") + std::strerror(e));
            MarkSeen(rel);
          }
        }
        return;
      }
    }
    if (S_ISDIR(st.st_mode)) {
      if (Excluded(rel) || Excluded(rel + "/")) return;
      const DirKey child{st.st_dev, st.st_ino};
      if (ancestors.count(child)) {
        Skip(rel, "symlink_loop", "link to a folder that contains it");
        return;
      }
      if (visited_dirs_.count(child)) return;  // same folder reached twice via links
      Walk(full, rel + "/", st, ancestors);
      return;
    }
    if (!Included(rel)) return;
    ++report_.files_seen;
    if (!S_ISREG(st.st_mode)) {
      Skip(rel, "not_regular", "not a regular file");
      return;
    }
    VisitFile(full, rel, st);
    if (opt_.on_progress && report_.files_seen % 250 == 0) opt_.on_progress(report_);
  }

  // Only rows the database already has can go missing: on a first index nothing is kept.
  void MarkSeen(const std::string& rel) {
    if (known_.count(rel)) seen_.insert(rel);
  }

  // True when a live row elsewhere has this content: the file may have moved there.
  bool MayHaveMoved(const std::string& hash) {
    if (!live_by_hash_built_) {
      live_by_hash_built_ = true;
      for (const auto& [path, state] : known_) {
        if (state.live) live_by_hash_.emplace(state.content_hash, path);
      }
    }
    return live_by_hash_.count(hash) > 0;
  }

  void VisitFile(const std::string& full, const std::string& rel, const struct stat& st) {
    const int64_t mtime = MtimeNs(st);
    const int64_t size = st.st_size;
    MarkSeen(rel);
    auto known = known_.find(rel);
    if (known != known_.end() && known->second.live && known->second.mtime_ns == mtime &&
        known->second.size == size) {
      ++report_.unchanged;
      return;
    }
    // A file skipped before for its content, and not touched since: skip without reading.
    if (auto prev = previously_skipped_.find(rel); prev != previously_skipped_.end()) {
      const SkippedFile& p = prev->second;
      if (p.file_size == size && p.file_mtime_ns == mtime &&
          (p.reason == "binary" || p.reason == "invalid_utf8" || p.reason == "too_large")) {
        report_.skipped.push_back(p);
        return;
      }
    }
    if (size > opt_.max_file_bytes) {
      Skip(rel, "too_large",
           "file is " + std::to_string(size) + " bytes; the limit is " +
               std::to_string(opt_.max_file_bytes) + " (--max-file-size)",
           size, mtime);
      return;
    }
    if (opt_.before_read) opt_.before_read(rel);
    std::string data;
    int err = 0;
    switch (ReadFile(full, opt_.max_file_bytes, &data, &err)) {
      case ReadResult::kVanished:
        seen_.erase(rel);
        Skip(rel, "vanished", "file disappeared during the scan");
        return;
      case ReadResult::kUnreadable:
        Skip(rel, "unreadable", std::string("cannot read: ") + std::strerror(err), size, mtime);
        return;
      case ReadResult::kTooLarge:
        Skip(rel, "too_large", "file grew beyond the size limit while being read", size, mtime);
        return;
      case ReadResult::kOk: break;
    }
    ++report_.files_read;
    report_.bytes_read += static_cast<int64_t>(data.size());
    if (const void* nul = std::memchr(data.data(), '\0', data.size())) {
      const auto at = static_cast<const char*>(nul) - data.data();
      Skip(rel, "binary", "NUL byte at offset " + std::to_string(at) + " (binary file)", size,
           mtime);
      return;
    }
    if (auto bad = utf8::FindInvalid(data)) {
      Skip(rel, "invalid_utf8", "invalid UTF-8 at byte " + std::to_string(*bad), size, mtime);
      return;
    }
    std::string hash = ContentHash(data);
    if (known != known_.end() && known->second.live && known->second.content_hash == hash) {
      // Touched but not changed: remember the new mtime/size so the next scan skips it.
      ++report_.unchanged;
      touched_.push_back(FileState{rel, std::move(hash), mtime, size, true});
      if (touched_.size() >= opt_.batch_docs) {
        write_status_ = store_.UpdateFileStats(touched_, report_.source);
        touched_.clear();
      }
      return;
    }
    ParsedNote note = ParseNote(data, BaseName(rel), IsMarkdownPath(rel));
    if (!note.frontmatter_error.empty()) {
      // Indexed anyway (whole text searchable); listed so the user can fix the header.
      Skip(rel, "bad_frontmatter", note.frontmatter_error + " (indexed without metadata)", size,
           mtime);
    }
    DocumentInput doc;
    doc.id = report_.source + ":" + rel;
    doc.source = report_.source;
    doc.path = rel;
    doc.title = std::move(note.title);
    doc.body = std::move(note.body);
    doc.metadata_json = std::move(note.metadata_json);
    doc.content_hash = std::move(hash);
    doc.file_mtime_ns = mtime;
    doc.file_size = size;
    if (known == known_.end() && MayHaveMoved(doc.content_hash)) {
      // A new path with the content of a known document: held back until the walk is over
      // and we know whether that document's file is gone (a move) or still there (a copy).
      moved_in_.push_back(std::move(doc));
      return;
    }
    batch_bytes_ += doc.body.size();
    batch_.push_back(std::move(doc));
    const size_t limit = flushed_batches_ == 0 ? opt_.first_batch_docs : opt_.batch_docs;
    if (batch_.size() >= limit || batch_bytes_ >= opt_.batch_bytes) {
      write_status_ = Flush();
    }
  }

  Status Flush() {
    if (!touched_.empty()) {
      KB_RETURN_IF_ERROR(store_.UpdateFileStats(touched_, report_.source));
      touched_.clear();
    }
    if (batch_.empty()) return Status::Ok();
    KB_ASSIGN_OR_RETURN(auto outcomes, store_.PutDocuments(batch_));
    for (size_t i = 0; i < outcomes.size(); ++i) {
      switch (outcomes[i]) {
        case PutOutcome::kInserted: ++report_.added; break;
        case PutOutcome::kChanged: ++report_.changed; break;
        case PutOutcome::kRestored: ++report_.restored; break;
        case PutOutcome::kUnchanged: ++report_.unchanged; break;
        case PutOutcome::kConflict:
          // Never overwrite a note that another source (the API) owns under the same id.
          Skip(*batch_[i].path, "id_conflict",
               "the id '" + batch_[i].id + "' belongs to a note of another source (pushed through the API); "
               "rename the file or delete that note",
               batch_[i].file_size, batch_[i].file_mtime_ns);
          break;
      }
    }
    batch_.clear();
    batch_bytes_ = 0;
    ++flushed_batches_;
    if (opt_.on_batch_committed) opt_.on_batch_committed();
    return Status::Ok();
  }

  DocumentStore& store_;
  const ScanOptions& opt_;
  std::string root_;
  ScanReport report_;
  std::unordered_map<std::string, FileState> known_;
  std::unordered_map<std::string, SkippedFile> previously_skipped_;
  std::unordered_set<std::string> seen_;  // paths of known_ found on disk
  std::set<DirKey> visited_dirs_;
  std::vector<std::string> unreadable_dirs_;
  std::vector<DocumentInput> batch_;
  size_t batch_bytes_ = 0;
  int flushed_batches_ = 0;
  std::vector<FileState> touched_;
  std::vector<DocumentInput> moved_in_;  // new paths whose content a known row has
  std::unordered_multimap<std::string, std::string> live_by_hash_;  // content_hash -> path
  bool live_by_hash_built_ = false;
  bool paths_mode_ = false;  // ScanPaths
  Status write_status_;
};

}  // namespace

bool MatchesGlob(const std::string& pattern, const std::string& rel_path) {
  if (pattern.find('/') == std::string::npos) {
    return ::fnmatch(pattern.c_str(), BaseName(rel_path).c_str(), 0) == 0;
  }
  return ::fnmatch(pattern.c_str(), rel_path.c_str(), 0) == 0;
}

namespace {

// The folder's canonical root and its source (registered on first use).
Result<std::pair<std::string, std::string>> ResolveSource(DocumentStore& store, const ScanOptions& options) {
  if (options.root.empty()) return Status::InvalidArgument("no folder given");
  // Resolve the root once: the source is keyed by its absolute, canonical path.
  std::string root = options.root;
  if (char* real = ::realpath(options.root.c_str(), nullptr)) {
    root = real;
    std::free(real);
  } else if (!root.empty() && root[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd)) root = std::string(cwd) + "/" + root;
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) {
    // A folder that never was a source: nothing to protect, just say so.
    KB_ASSIGN_OR_RETURN(auto sources, store.ListSources());
    const bool known = std::any_of(sources.begin(), sources.end(),
                                   [&](const SourceInfo& s) { return s.root == root; });
    if (!known) return Status::NotFound("folder does not exist: " + options.root);
  }
  std::string name = options.source_name;
  if (name.empty()) name = BaseName(root);
  if (name.empty() || name == "/") name = "root";
  KB_ASSIGN_OR_RETURN(SourceInfo source, store.EnsureFolderSource(root, name));
  return std::make_pair(root, source.name);
}

}  // namespace

Result<ScanReport> ScanFolder(DocumentStore& store, const ScanOptions& options) {
  KB_ASSIGN_OR_RETURN(auto resolved, ResolveSource(store, options));
  FolderScan scan(store, options, resolved.first, resolved.second);
  return scan.Run();
}

Result<ScanReport> ScanPaths(DocumentStore& store, const ScanOptions& options,
                             std::span<const std::string> rel_paths) {
  KB_ASSIGN_OR_RETURN(auto resolved, ResolveSource(store, options));
  FolderScan scan(store, options, resolved.first, resolved.second);
  return scan.RunPaths(std::vector<std::string>(rel_paths.begin(), rel_paths.end()));
}

}  // namespace kb
