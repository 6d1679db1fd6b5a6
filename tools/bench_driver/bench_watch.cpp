// `tools/bench --watch`: the folder watcher on a large folder. A warm `kbindex watch` process
// (hash embedder, fresh local Chroma) follows N notes; each sample is an editor's atomic save
// (temp file + rename over) of one note with a new word, timed until the word is keyword
// searchable (FTS5, read from the database by this process) and until the note is synced
// (its row synced with the new content hash). Then the watcher's idle CPU (/proc utime+stime
// over an idle period) and its resident memory with N watched files.
#include "bench_watch.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "corpus.h"
#include "store/document_store.h"
#include "vector/local_chroma.h"

namespace fs = std::filesystem;

namespace kb::bench {
namespace {

double NowS() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

pid_t StartWatch(const std::string& kbindex, const std::string& db, const std::string& url, const std::string& dir,
                 const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::FILE* f = std::fopen(log.c_str(), "w");
    if (f) {
      ::dup2(::fileno(f), 1);
      ::dup2(::fileno(f), 2);
    }
    ::execl(kbindex.c_str(), kbindex.c_str(), "--db", db.c_str(), "--chroma-url", url.c_str(), "watch", dir.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// utime + stime of a process, in seconds.
double CpuSeconds(pid_t pid) {
  const std::string stat = Slurp("/proc/" + std::to_string(pid) + "/stat");
  const size_t rp = stat.rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream in(stat.substr(rp + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

long StatusKb(pid_t pid, const std::string& key) {
  std::istringstream in(Slurp("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  }
  return 0;
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

int RunWatchBench(const WatchBenchArgs& a) {
  const std::string corpus = a.work + "/watch-notes";
  std::fprintf(stderr, "bench: %d notes for the watcher...\n", a.notes);
  GenerateCorpus(corpus, a.notes, 11);
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(corpus)) {
    if (e.is_regular_file() && e.path().extension() == ".md") files.push_back(fs::relative(e.path(), corpus).string());
  }
  std::sort(files.begin(), files.end());
  size_t dirs = 0;
  for (const auto& e : fs::recursive_directory_iterator(corpus)) dirs += e.is_directory() ? 1 : 0;

  LocalChromaOptions lo;
  lo.data_dir = a.work + "/watch-chroma";
  lo.shared = false;
  auto chroma = LocalChroma::Start(lo);
  if (!chroma.ok()) {
    std::fprintf(stderr, "bench: %s\n", chroma.status().ToString().c_str());
    return 1;
  }
  const std::string url = (*chroma)->url();
  const std::string db = a.work + "/watch/kb.db";
  fs::create_directories(fs::path(db).parent_path());
  std::fprintf(stderr, "bench: initial index...\n");
  const std::string index_cmd = a.kbindex + " --db " + db + " --chroma-url " + url + " -q index " + corpus + " >/dev/null";
  if (std::system(index_cmd.c_str()) != 0) {
    std::fprintf(stderr, "bench: the initial index failed\n");
    return 1;
  }
  const std::string log = a.work + "/watch.log";
  const double t_start = NowS();
  const pid_t pid = StartWatch(a.kbindex, db, url, corpus, log);
  auto store_r = DocumentStore::Open(db);
  if (!store_r.ok()) {
    std::fprintf(stderr, "bench: %s\n", store_r.status().ToString().c_str());
    ::kill(pid, SIGTERM);
    return 1;
  }
  auto& store = **store_r;
  while (Slurp(log).find("following the folders") == std::string::npos) {
    if (NowS() - t_start > 300) {
      std::fprintf(stderr, "bench: the watcher did not start:\n%s\n", Slurp(log).c_str());
      ::kill(pid, SIGKILL);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double ready_s = NowS() - t_start;
  // The start's reconcile (a stat per file) finishes before the samples.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const std::string source = fs::path(corpus).filename().string();

  std::mt19937 rng(5);
  std::vector<double> to_keyword, to_synced;
  int timeouts = 0;
  for (int i = 0; i < a.saves; ++i) {
    const std::string rel = files[rng() % files.size()];
    const std::string path = corpus + "/" + rel;
    const std::string word = "wbench" + std::to_string(100000 + i) + "x";
    std::string text = Slurp(path) + "\nEdited: " + word + "\n";
    const std::string tmp = corpus + "/." + fs::path(rel).filename().string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << text;
    }
    const double t0 = NowS();
    fs::rename(tmp, path);  // the save
    double kw = -1, synced = -1;
    while (NowS() - t0 < 30 && (kw < 0 || synced < 0)) {
      if (kw < 0) {
        auto hits = store.KeywordSearch(word, 1);
        if (hits.ok() && !hits->empty()) kw = NowS() - t0;
      }
      if (kw >= 0 && synced < 0) {
        auto d = store.Get(source + ":" + rel);
        if (d.ok() && *d && (*d)->sync_status == SyncStatus::kSynced && (*d)->synced_hash &&
            *(*d)->synced_hash == (*d)->content_hash && (*d)->body.find(word) != std::string::npos) {
          synced = NowS() - t0;
        }
      }
      if (kw < 0 || synced < 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (kw < 0 || synced < 0) {
      ++timeouts;
      continue;
    }
    to_keyword.push_back(kw * 1000);
    to_synced.push_back(synced * 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));  // one save at a time, as a person types
  }

  std::fprintf(stderr, "bench: idle CPU over %d s...\n", a.idle_seconds);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double c0 = CpuSeconds(pid), w0 = NowS();
  std::this_thread::sleep_for(std::chrono::seconds(a.idle_seconds));
  const double idle_pct = 100.0 * (CpuSeconds(pid) - c0) / (NowS() - w0);
  const long rss = StatusKb(pid, "VmRSS");
  const long hwm = StatusKb(pid, "VmHWM");
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

  std::printf("\n## Folder watching (`tools/bench --watch`)\n\n");
  std::printf("`kbindex watch` (with its retry worker, hash embedder, fresh local Chroma) following %d notes in %zu folders "
              "after an initial `index`; ready (watches placed) %.1f s after start. %d atomic saves (temp file + rename over) "
              "of random notes, one at a time, each adding a new word; timed from the rename until the word is "
              "found by an FTS5 query and until the note's row is synced with the new content.\n\n",
              a.notes, dirs, ready_s, a.saves);
  std::printf("| measure | p50 | p95 | max |\n|---|---:|---:|---:|\n");
  std::printf("| save → keyword-searchable | %.0f ms | %.0f ms | %.0f ms |\n", Pct(to_keyword, 0.5), Pct(to_keyword, 0.95),
              Pct(to_keyword, 1.0));
  std::printf("| save → synced in Chroma | %.0f ms | %.0f ms | %.0f ms |\n", Pct(to_synced, 0.5), Pct(to_synced, 0.95),
              Pct(to_synced, 1.0));
  std::printf("\nIdle CPU of the watching process: %.2f %% over %d s. RSS with %d watched files: %.1f MB (peak %.1f MB, "
              "which includes the start's reconcile). Saves not seen within 30 s: %d. Stopped cleanly on SIGTERM: %s.\n",
              idle_pct, a.idle_seconds, a.notes, rss / 1024.0, hwm / 1024.0, timeouts, clean ? "yes" : "no");
  fs::remove_all(corpus);
  return timeouts == 0 && clean ? 0 : 1;
}

}  // namespace kb::bench
