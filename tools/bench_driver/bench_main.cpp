// kbindex-bench: throughput and memory of kbindex against a fresh Chroma, next to the physical
// limit (the same chunks and embeddings upserted straight to Chroma, largest allowed batches,
// no SQLite at all) and, when present, the LangChain JS peer. Run through tools/bench.
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench_api.h"
#include "bench_watch.h"
#include "bench_source.h"
#include "corpus.h"
#include "embed/hash_embedder.h"
#include "scan/markdown.h"
#include "sync/chunk_records.h"
#include "util/hash.h"
#include "vector/chroma_client.h"
#include "vector/local_chroma.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace kb::bench {
namespace {

struct Args {
  int docs = 10000;
  std::string corpus;        // a folder to use instead of generated notes
  bool sample = false;       // multiply examples/notes instead of generating
  std::string work;          // default: bench-out/
  std::string kbindex = KBINDEX_BINARY;
  std::string peer = std::string(KBINDEX_SOURCE_DIR) + "/../shared/peers/langchain";
  bool no_peer = false;
  std::vector<std::string> configs = {"default", "chunking-none", "store-text"};
  std::vector<int> rss_sizes = {2000, 20000};
  int repeat = 1;
};

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Proc {
  int exit_code = -1;
  double seconds = 0;
  long peak_rss_kb = 0;
  std::string out;
};

// Peak RSS needs care: a child's ru_maxrss includes the memory its parent had when it forked
// (the kernel records the pre-exec high-water mark), and this process holds large buffers.
// So every measured command is started by a freshly exec'd copy of this binary
// ("--exec-measure FILE -- cmd...") that forks the command and writes its true peak RSS.
int ExecMeasure(int argc, char** argv) {
  const std::string out = argv[2];
  std::vector<char*> a(argv + 4, argv + argc);
  a.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execvp(a[0], a.data());
    ::_exit(127);
  }
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  std::ofstream(out) << ru.ru_maxrss;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string g_self;  // this binary, for ExecMeasure

// Runs a command, capturing stdout, measuring wall time and the command's peak RSS.
Proc Run(const std::vector<std::string>& argv_in, const std::string& cwd = "") {
  const std::string rss_file = fs::temp_directory_path().string() + "/kbindex-bench-rss-" + std::to_string(::getpid());
  std::vector<std::string> argv{g_self, "--exec-measure", rss_file, "--"};
  argv.insert(argv.end(), argv_in.begin(), argv_in.end());
  int pipefd[2];
  if (::pipe(pipefd) != 0) return {};
  const double t0 = Now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execvp(a[0], a.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  Proc p;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) p.out.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  p.seconds = Now() - t0;
  p.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(rss_file);
  in >> p.peak_rss_kb;
  fs::remove(rss_file);
  return p;
}

std::string Fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

struct Row {
  std::string config, phase;
  int64_t docs = 0, chunks = 0;
  double seconds = 0;
  long rss_kb = 0;
  std::optional<double> raw_docs_per_s;  // the matching physical limit
  std::string note;
};

// The physical limit: every chunk of the corpus, chunked and embedded exactly as kbindex does
// (untimed), then upserted straight to a fresh collection in the largest allowed batches.
struct RawResult {
  int64_t docs = 0, chunks = 0;
  double seconds = 0;            // first upsert (inserts)
  double reupsert_seconds = 0;   // the same records again (Chroma's update path, as in reindex)
};

RawResult RawLimit(const std::string& corpus, const std::string& url, bool none, bool text) {
  ChunkerOptions co;
  co.mode = none ? ChunkerOptions::Mode::kNone : ChunkerOptions::Mode::kMarkdown;
  HashEmbedder embedder(384);
  std::vector<VectorRecord> records;
  RawResult r;
  for (const auto& e : fs::recursive_directory_iterator(corpus)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string raw = ss.str();
    const std::string rel = fs::relative(e.path(), corpus).string();
    ParsedNote note = ParseNote(raw, e.path().filename().string(), true);
    Document d;
    d.id = "corpus:" + rel;
    d.source = "corpus";
    d.path = rel;
    d.title = note.title;
    d.body = note.body;
    d.metadata_json = note.metadata_json;
    d.content_hash = ContentHash(raw);
    const std::string fm = FrontmatterFragment(d.metadata_json);
    auto chunks = ChunkFor(d, co);
    std::vector<std::string> inputs;
    for (const auto& c : chunks) inputs.push_back(EmbeddingInput(d, c));
    std::vector<std::string_view> views(inputs.begin(), inputs.end());
    Embeddings emb = *embedder.Embed(views);
    for (size_t i = 0; i < chunks.size(); ++i) {
      VectorRecord rec;
      rec.id = ChunkId(d.id, static_cast<int>(i));
      auto row = emb.row(i);
      rec.embedding.assign(row.begin(), row.end());
      if (text) rec.document = chunks[i].text;
      rec.metadata_json = ChunkMetadata(d, chunks[i], static_cast<int>(i), fm);
      records.push_back(std::move(rec));
    }
    ++r.docs;
  }
  r.chunks = static_cast<int64_t>(records.size());
  ChromaOptions o;
  o.url = url;
  o.timeout_ms = 600'000;
  auto client = ChromaClient::Create(o);
  auto coll = (*client)->GetOrCreateCollection("raw-limit");
  const double t0 = Now();
  Status st;
  if (const char* b = std::getenv("KBINDEX_BENCH_RAW_BATCH")) {  // experiments: fixed batch size
    const size_t n = std::stoul(b);
    for (size_t i = 0; i < records.size() && st.ok(); i += n) {
      st = (*client)->Upsert(*coll, std::span<const VectorRecord>(records).subspan(i, std::min(n, records.size() - i)));
    }
  } else {
    st = (*client)->Upsert(*coll, records);  // splits by max_batch_size and bytes
  }
  r.seconds = Now() - t0;
  if (!st.ok()) std::fprintf(stderr, "raw limit upsert failed: %s\n", st.ToString().c_str());
  const double t1 = Now();
  st = (*client)->Upsert(*coll, records);
  r.reupsert_seconds = Now() - t1;
  if (!st.ok()) std::fprintf(stderr, "raw re-upsert failed: %s\n", st.ToString().c_str());
  return r;
}

struct PeerResult {
  bool ok = false;
  double initial_s = 0, unchanged_s = 0;
  long rss_kb = 0;
  std::string error;
};

PeerResult RunPeer(const Args& a, const std::string& corpus, const std::string& url, const std::string& work) {
  PeerResult pr;
  const std::string cache = std::string(KBINDEX_SOURCE_DIR) + "/.bench-cache/langchain-peer";
  if (!fs::exists(cache + "/node_modules/better-sqlite3")) {
    std::fprintf(stderr, "bench: installing the LangChain peer into %s (npm install, once)\n", cache.c_str());
    fs::create_directories(cache);
    for (const char* f : {"index_bench.mjs", "package.json"}) {
      fs::copy_file(a.peer + "/" + f, cache + "/" + f, fs::copy_options::overwrite_existing);
    }
    Proc inst = Run({"npm", "install", "--no-audit", "--no-fund", "--loglevel=error"}, cache);
    if (inst.exit_code != 0) {
      pr.error = "npm install of the peer failed";
      return pr;
    }
  }
  Proc p = Run({"node", cache + "/index_bench.mjs", "--dir", corpus, "--chroma", url, "--db",
                work + "/peer.sqlite", "--collection", "langchain-peer", "--dims", "384", "--phase", "all"});
  if (p.exit_code != 0) {
    pr.error = "peer exited with " + std::to_string(p.exit_code);
    return pr;
  }
  std::istringstream lines(p.out);
  std::string line;
  while (std::getline(lines, line)) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("phase")) continue;
    if (j["phase"] == "initial") pr.initial_s = j["seconds"].get<double>();
    if (j["phase"] == "unchanged") pr.unchanged_s = j["seconds"].get<double>();
  }
  pr.rss_kb = p.peak_rss_kb;
  pr.ok = pr.initial_s > 0 && pr.unchanged_s > 0;
  if (!pr.ok) pr.error = "could not read the peer's output";
  return pr;
}

std::string Machine() {
  std::string cpu = "unknown CPU";
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  long mem_kb = 0;
  std::ifstream mi("/proc/meminfo");
  while (std::getline(mi, line)) {
    if (line.rfind("MemTotal:", 0) == 0) mem_kb = std::stol(line.substr(9));
  }
  struct utsname u {};
  ::uname(&u);
  return cpu + ", " + std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)) + " cores, " +
         std::to_string(mem_kb / 1024 / 1024) + " GiB, Linux " + u.release;
}

int Main(int argc, char** argv) {
  Args a;
  bool api = false;
  ApiBenchArgs api_args;
  bool watch = false;
  WatchBenchArgs watch_args;
  std::string source_kind;
  SourceBenchArgs source_args;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    auto list = [](const std::string& v) {
      std::vector<std::string> out;
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) {
        if (!item.empty() && item != "none") out.push_back(item);
      }
      return out;
    };
    if (s == "--source") {
      source_kind = next();
    } else if (s == "--rows") {
      source_args.rows = std::stoi(next());
    } else if (s == "--no-folder") {
      source_args.folder = false;
    } else if (s == "--api") {
      api = true;
    } else if (s == "--watch") {
      watch = true;
    } else if (s == "--watch-notes") {
      watch_args.notes = std::stoi(next());
    } else if (s == "--watch-saves") {
      watch_args.saves = std::stoi(next());
    } else if (s == "--watch-idle-seconds") {
      watch_args.idle_seconds = std::stoi(next());
    } else if (s == "--api-sizes") {
      api_args.sizes.clear();
      for (const auto& v : list(next())) api_args.sizes.push_back(std::stoi(v));
    } else if (s == "--api-load-sizes") {
      api_args.api_sizes.clear();
      for (const auto& v : list(next())) api_args.api_sizes.push_back(std::stoi(v));
    } else if (s == "--api-seconds") {
      api_args.seconds = std::stod(next());
    } else if (s == "--api-reuse") {
      api_args.reuse = true;
    } else
    if (s == "--docs") a.docs = std::stoi(next());
    else if (s == "--corpus") a.corpus = next();
    else if (s == "--sample") a.sample = true;
    else if (s == "--work") a.work = next();
    else if (s == "--kbindex") a.kbindex = next();
    else if (s == "--peer") a.peer = next();
    else if (s == "--no-peer") a.no_peer = true;
    else if (s == "--configs") a.configs = list(next());
    else if (s == "--rss-sizes") {
      a.rss_sizes.clear();
      for (const auto& v : list(next())) a.rss_sizes.push_back(std::stoi(v));
    } else {
      std::fprintf(stderr,
                   "usage: kbindex-bench [--docs N | --corpus DIR | --sample] [--configs default,chunking-none,store-text]\n"
                   "                     [--rss-sizes 2000,20000|none] [--peer DIR | --no-peer] [--work DIR]\n"
                   "       kbindex-bench --api [--api-sizes 2000,20000,100000] [--api-load-sizes 20000,100000]\n"
                   "                     [--api-seconds 20] [--api-reuse] [--work DIR]\n"
                   "       kbindex-bench --watch [--watch-notes 20000] [--watch-saves 100] [--watch-idle-seconds 20]\n"

                   "       kbindex-bench --source postgres [--rows 100000] [--no-folder] [--work DIR]\n");
      return 2;
    }
  }
  if (a.work.empty()) a.work = std::string(KBINDEX_SOURCE_DIR) + "/bench-out";
  if (!api_args.reuse) fs::remove_all(a.work);
  fs::create_directories(a.work);
  const std::string kb = a.kbindex;
  if (watch) {
    watch_args.kbindex = a.kbindex;
    watch_args.work = a.work;
    std::printf("%s\n", Machine().c_str());
    return RunWatchBench(watch_args);
  }
  if (!source_kind.empty()) {
    if (source_kind != "postgres") {
      std::fprintf(stderr, "kbindex-bench: --source takes postgres\n");
      return 2;
    }
    source_args.kbindex = a.kbindex;
    source_args.work = a.work;
    std::printf("%s\n", Machine().c_str());
    return RunSourceBench(source_args, [](const std::vector<std::string>& cmd_argv, std::string* out) {
      Proc p = Run(cmd_argv);
      if (out) *out = p.out;
      return Measured{p.seconds, p.peak_rss_kb, p.exit_code};
    });
  }
  if (api) {
    api_args.kbindex = a.kbindex;
    api_args.work = a.work;
    std::printf("%s\n", Machine().c_str());
    return RunApiBench(api_args, [](const std::vector<std::string>& cmd) {
      Proc p = Run(cmd);
      return Measured{p.seconds, p.peak_rss_kb, p.exit_code};
    });
  }

  std::string corpus = a.corpus;
  CorpusStats cs;
  if (corpus.empty()) {
    corpus = a.work + "/corpus";
    const double t0 = Now();
    cs = a.sample ? MultiplySample(std::string(KBINDEX_SOURCE_DIR) + "/examples/notes", corpus, a.docs)
                  : GenerateCorpus(corpus, a.docs);
    std::fprintf(stderr, "bench: corpus of %lld notes, %.1f MB, written in %.1f s\n",
                 static_cast<long long>(cs.files), cs.bytes / 1e6, Now() - t0);
  } else {
    for (const auto& e : fs::recursive_directory_iterator(corpus)) {
      if (e.is_regular_file()) {
        ++cs.files;
        cs.bytes += static_cast<int64_t>(e.file_size());
      }
    }
  }

  std::vector<Row> rows;
  std::optional<PeerResult> peer;
  std::string chroma_version;
  for (const std::string& config : a.configs) {
    const bool none = config == "chunking-none";
    const bool text = config == "store-text";
    std::vector<std::string> flags;
    if (none) flags = {"--chunking", "none"};
    if (text) flags = {"--store-text"};
    // A fresh Chroma for every configuration.
    LocalChromaOptions lo;
    lo.data_dir = a.work + "/chroma-" + config;
    lo.shared = false;
    auto chroma = LocalChroma::Start(lo);
    if (!chroma.ok()) {
      std::fprintf(stderr, "bench: cannot start Chroma: %s\n", chroma.status().ToString().c_str());
      return 1;
    }
    const std::string url = (*chroma)->url();
    if (chroma_version.empty()) {
      ChromaOptions o;
      o.url = url;
      if (auto c = ChromaClient::Create(o); c.ok()) chroma_version = (*c)->Version().value_or("?");
    }
    std::fprintf(stderr, "bench: [%s] raw limit...\n", config.c_str());
    RawResult raw;
    {
      // Its own fresh server: Chroma keeps indexing in the background after a bulk load, and
      // that must not slow (or speed) the kbindex runs that follow.
      LocalChromaOptions ro;
      ro.data_dir = a.work + "/chroma-raw-" + config;
      ro.shared = false;
      auto raw_chroma = LocalChroma::Start(ro);
      if (!raw_chroma.ok()) return 1;
      raw = RawLimit(corpus, (*raw_chroma)->url(), none, text);
    }
    const double raw_dps = raw.docs / raw.seconds;
    rows.push_back({config, "raw limit (straight to Chroma)", raw.docs, raw.chunks, raw.seconds, 0, raw_dps, ""});
    const double raw_re_dps = raw.docs / raw.reupsert_seconds;
    rows.push_back({config, "raw limit, same ids again (update path)", raw.docs, raw.chunks, raw.reupsert_seconds, 0,
                    raw_re_dps, ""});

    const std::string db = a.work + "/kb-" + config + ".db";
    auto kbcmd = [&](std::vector<std::string> sub) {
      std::vector<std::string> cmd{kb, "--db", db, "--chroma-url", url, "-q"};
      cmd.insert(cmd.end(), flags.begin(), flags.end());
      cmd.insert(cmd.end(), sub.begin(), sub.end());
      return cmd;
    };
    auto stats = [&]() {
      Proc s = Run(kbcmd({"stats", "--json"}));
      return json::parse(s.out, nullptr, false);
    };
    std::fprintf(stderr, "bench: [%s] initial index + sync...\n", config.c_str());
    Proc initial = Run(kbcmd({"index", corpus}));
    json st = stats();
    const int64_t synced = st.is_discarded() ? -1 : st["sync"]["synced"].get<int64_t>();
    const int64_t chunks = st.is_discarded() || st["chroma"]["count"].is_null() ? 0 : st["chroma"]["count"].get<int64_t>();
    rows.push_back({config, "initial index + sync", cs.files, chunks, initial.seconds, initial.peak_rss_kb, raw_dps,
                    initial.exit_code == 0 && synced == cs.files ? "" : "INCOMPLETE: " + std::to_string(synced) + " synced"});
    std::fprintf(stderr, "bench: [%s] unchanged re-run...\n", config.c_str());
    Proc unchanged = Run(kbcmd({"index", corpus}));
    rows.push_back({config, "unchanged re-run", cs.files, 0, unchanged.seconds, unchanged.peak_rss_kb, raw_dps,
                    unchanged.exit_code == 0 ? "" : "exit " + std::to_string(unchanged.exit_code)});
    const std::string edited = EditOneFile(corpus);
    Proc edit = Run(kbcmd({"index", corpus}));
    rows.push_back({config, "one file edited (process start to exit)", 1, 0, edit.seconds, edit.peak_rss_kb,
                    std::nullopt, edit.exit_code == 0 ? "" : "exit " + std::to_string(edit.exit_code)});
    std::fprintf(stderr, "bench: [%s] reindex...\n", config.c_str());
    Proc reindex = Run(kbcmd({"reindex"}));
    rows.push_back({config, "full reindex (vs the update-path limit)", cs.files, chunks, reindex.seconds, reindex.peak_rss_kb, raw_re_dps,
                    reindex.exit_code == 0 ? "" : "exit " + std::to_string(reindex.exit_code)});
    if (none && !a.no_peer && fs::exists(a.peer + "/index_bench.mjs")) {
      std::fprintf(stderr, "bench: LangChain peer on the same corpus...\n");
      peer = RunPeer(a, corpus, url, a.work);
    }
    chroma->reset();
  }

  // Memory: peak RSS of an initial index at each size.
  std::vector<std::pair<int, long>> rss;
  for (int n : a.rss_sizes) {
    const std::string dir = a.work + "/rss-corpus-" + std::to_string(n);
    GenerateCorpus(dir, n, 7);
    LocalChromaOptions lo;
    lo.data_dir = a.work + "/chroma-rss-" + std::to_string(n);
    lo.shared = false;
    auto chroma = LocalChroma::Start(lo);
    if (!chroma.ok()) return 1;
    std::fprintf(stderr, "bench: peak RSS at %d notes...\n", n);
    Proc p = Run({kb, "--db", a.work + "/rss-" + std::to_string(n) + ".db", "--chroma-url", (*chroma)->url(), "-q",
                  "index", dir});
    rss.emplace_back(n, p.peak_rss_kb);
    fs::remove_all(dir);
  }

  // Report (Markdown).
  char date[64];
  const time_t now = ::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", ::gmtime(&now));
  std::printf("\n## kbindex benchmark, %s\n\n", date);
  std::printf("Machine: %s. Chroma %s (npm chromadb 3.0.12), 384-dim hash embedding. Corpus: %lld notes, %.1f MB%s.\n\n",
              Machine().c_str(), chroma_version.c_str(), static_cast<long long>(cs.files), cs.bytes / 1e6,
              a.corpus.empty() ? (a.sample ? " (bundled notes, multiplied)" : " (synthetic, log-normal sizes)") : "");
  std::printf("| config | phase | docs | chunks | seconds | docs/s | chunks/s | vs raw limit | peak RSS |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    const double dps = r.seconds > 0 ? r.docs / r.seconds : 0;
    const double cps = r.seconds > 0 && r.chunks ? r.chunks / r.seconds : 0;
    std::string ratio = "";
    if (r.raw_docs_per_s && r.phase.find("raw") == std::string::npos) ratio = Fmt("%.2f", dps / *r.raw_docs_per_s);
    if (r.phase.find("raw") != std::string::npos) ratio = "1.00";
    std::printf("| %s | %s%s | %lld | %s | %.3f | %s | %s | %s | %s |\n", r.config.c_str(), r.phase.c_str(),
                r.note.empty() ? "" : (" (" + r.note + ")").c_str(), static_cast<long long>(r.docs),
                r.chunks ? std::to_string(r.chunks).c_str() : "", r.seconds, Fmt("%.0f", dps).c_str(),
                cps > 0 ? Fmt("%.0f", cps).c_str() : "", ratio.c_str(),
                r.rss_kb ? Fmt("%.0f MB", r.rss_kb / 1024.0).c_str() : "");
  }
  if (peer) {
    if (peer->ok) {
      auto find = [&](const std::string& phase) -> const Row* {
        for (const Row& r : rows) {
          if (r.config == "chunking-none" && r.phase == phase) return &r;
        }
        return nullptr;
      };
      const Row* init = find("initial index + sync");
      const Row* unch = find("unchanged re-run");
      std::printf("\nLangChain JS peer (index() + SQLite record manager, one file = one document) on the same corpus:\n\n");
      std::printf("| phase | peer docs/s | kbindex --chunking none docs/s | kbindex / peer |\n|---|---:|---:|---:|\n");
      if (init) {
        std::printf("| initial | %.0f | %.0f | %.1fx |\n", cs.files / peer->initial_s, cs.files / init->seconds,
                    peer->initial_s / init->seconds);
      }
      if (unch) {
        std::printf("| unchanged | %.0f | %.0f | %.1fx |\n", cs.files / peer->unchanged_s, cs.files / unch->seconds,
                    peer->unchanged_s / unch->seconds);
      }
      std::printf("\nPeer process peak RSS: %.0f MB.\n", peer->rss_kb / 1024.0);
    } else {
      std::printf("\nLangChain peer: not measured (%s).\n", peer->error.c_str());
    }
  }
  if (!rss.empty()) {
    std::printf("\nPeak RSS of `kbindex index` (initial index + sync, synthetic notes):\n\n| notes | peak RSS |\n|---:|---:|\n");
    for (auto [n, kb_rss] : rss) std::printf("| %d | %.0f MB |\n", n, kb_rss / 1024.0);
  }
  return 0;
}

}  // namespace
}  // namespace kb::bench

int main(int argc, char** argv) {
  if (argc > 3 && std::string(argv[1]) == "--exec-measure") return kb::bench::ExecMeasure(argc, argv);
  kb::bench::g_self = fs::canonical("/proc/self/exe").string();
  return kb::bench::Main(argc, argv);
}
