// The careless-user half of issue 12, through the kbindex binary: what it prints, what it
// refuses, what it creates, and what it can still do on a read-only database.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/fault_proxy.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_chroma.h"

namespace kb {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

unsigned Mode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0xFFFF;
}

TEST(CliHardeningTest, TerminalEscapesInNamesAndTitlesArePrintedEscaped) {
  test::TempDir dir;
  const std::string evil = "evil\x1b]0;pwned\x07\x1b[31m.md";
  test::WriteFile(dir / ("notes/" + evil), "# Title \x1b[2J with escape\nbody of the evil note");
  test::WriteFile(dir / "notes/bad\x1b[1m.md", std::string("bin\0ary", 7));  // skipped: binary
  std::map<std::string, std::string> env{{"KBINDEX_DB", dir / "kb.db"}};
  for (const auto& args : std::vector<std::vector<std::string>>{{"index", "--no-sync", dir / "notes"},
                                                               {"skipped"},
                                                               {"search", "--mode", "keyword", "evil note"},
                                                               {"show", "notes:" + evil}}) {
    auto r = test::Kbindex(args, env);
    ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << args[0] << " printed a raw escape:\n" << r.out;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << args[0];
    EXPECT_EQ(r.out.find('\x07'), std::string::npos) << args[0];
    EXPECT_NE(r.out.find("\\x1b"), std::string::npos) << args[0] << ": the escape is shown escaped\n" << r.out;
  }
}

TEST(CliHardeningTest, BadPortsOriginsAndBackoffsAreUsageErrors) {
  test::TempDir dir;
  std::map<std::string, std::string> env{{"KBINDEX_DB", dir / "kb.db"}};
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"serve", "--port", "65537"}, {"serve", "--port", "-5"}, {"serve", "--cors-origin", "null"},
           {"serve", "--cors-origin", "*"}, {"--backoff-ms", "-1", "stats"}}) {
    auto r = test::Kbindex(args, env);
    EXPECT_EQ(r.exit_code, 2) << args[1] << " " << args[2] << ": " << r.err;
  }
  test::WriteFile(dir / "config.json", R"({"cors_origins": ["*"]})");
  auto r = test::Kbindex({"--config", dir / "config.json", "stats"}, env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("CORS origin"), std::string::npos) << r.err;
}

TEST(CliHardeningTest, AFifoAsTokenOrConfigFailsAtOnceInsteadOfHanging) {
  test::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "token").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((dir / "config.json").c_str(), 0600), 0);
  std::map<std::string, std::string> env{{"KBINDEX_DB", dir / "kb.db"}, {"KBINDEX_CHROMA_URL", "http://127.0.0.1:9"}};
  const auto t0 = std::chrono::steady_clock::now();
  auto serve = test::Kbindex({"serve", "--port", "0", "--no-worker", "--token-file", dir / "token"}, env);
  EXPECT_EQ(serve.exit_code, 1);
  EXPECT_NE(serve.err.find("not a regular file"), std::string::npos) << serve.err;
  auto stats = test::Kbindex({"--config", dir / "config.json", "stats"}, env);
  EXPECT_NE(stats.exit_code, 0);
  EXPECT_NE(stats.err.find("not a regular file"), std::string::npos) << stats.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
}

TEST(CliHardeningTest, WhatKbindexCreatesIsPrivateToTheUser) {
  test::TempDir dir;
  test::TestChroma chroma;  // only for its installed server location; kbindex starts its own
  ASSERT_TRUE(chroma.ok());
  test::WriteFile(dir / "notes/a.md", "# A\nprivate thoughts");
  const std::string data = dir / "xdg/kbindex";
  std::map<std::string, std::string> env{{"XDG_DATA_HOME", dir / "xdg"}, {"HOME", dir / "home"}};
  auto r = test::Kbindex({"index", dir / "notes"}, env);  // the managed local Chroma
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Mode(data), 0700u);
  EXPECT_EQ(Mode(data + "/kbindex.db"), 0600u);
  EXPECT_EQ(Mode(data + "/kbindex.db.chroma"), 0700u);
  for (const auto& entry : fs::recursive_directory_iterator(data + "/kbindex.db.chroma")) {
    if (!entry.is_regular_file()) continue;
    EXPECT_EQ(Mode(entry.path()) & 077, 0u) << entry.path() << " is readable by others";
  }
}

TEST(CliHardeningTest, TheManagedChromaRunsInASessionOfItsOwn) {
  test::TestChroma chroma;  // started as kbindex starts the managed server
  ASSERT_TRUE(chroma.ok());
  const pid_t pid = chroma.server().pid();
  ASSERT_GT(pid, 0);
  // Ctrl-C signals the terminal's foreground group: ours, not the server's.
  EXPECT_NE(::getpgid(pid), ::getpgrp());
  // Its own session: where the kernel schedules by session, the server keeps its share.
  EXPECT_EQ(::getsid(pid), pid);
  EXPECT_NE(::getsid(pid), ::getsid(0));
}

TEST(CliHardeningTest, TheManagedChromaDoesNotPreemptOnWakeUp) {
  test::TestChroma chroma;  // started as kbindex starts the managed server
  ASSERT_TRUE(chroma.ok());
  const pid_t pid = chroma.server().pid();
  ASSERT_GT(pid, 0);
  // Every thread of the server, the ones it started after exec included, runs SCHED_BATCH.
  int threads = 0;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    const pid_t tid = static_cast<pid_t>(std::stol(task.path().filename().string()));
    EXPECT_EQ(::sched_getscheduler(tid), SCHED_BATCH) << "thread " << tid;
    ++threads;
  }
  EXPECT_GT(threads, 1);
  // kbindex itself keeps the normal policy.
  EXPECT_EQ(::sched_getscheduler(0), SCHED_OTHER);
}

TEST(CliHardeningTest, AReadOnlyDatabaseCanBeSearchedAndRefusesWritesClearly) {
  test::TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  test::WriteFile(dir / "notes/a.md", "# Quince\nquince jelly recipe");
  auto idx = test::Kbindex({"--db", dir / "db/kb.db", "index", "--no-sync", dir / "notes"});
  ASSERT_EQ(idx.exit_code, 0) << idx.err;
  ::chmod((dir / "db").c_str(), 0755);
  ::chmod((dir / "db/kb.db").c_str(), 0444);
  ::chmod((dir / "notes").c_str(), 0755);
  ::chmod((dir / "notes/a.md").c_str(), 0644);
  // As an unprivileged user (root reads and writes everything): neither the file nor its folder
  // is writable.
  const std::vector<std::string> as_nobody{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                           KBINDEX_BINARY, "--db", dir / "db/kb.db"};
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = as_nobody;
    argv.insert(argv.end(), args.begin(), args.end());
    return test::Run(argv, {{"HOME", "/nonexistent"}});
  };
  auto search = run({"search", "--mode", "keyword", "--json", "quince"});
  ASSERT_EQ(search.exit_code, 0) << search.err;
  EXPECT_EQ(json::parse(search.out)["results"][0]["id"], "notes:a.md");
  auto stats = run({"stats", "--json"});
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
  auto write = run({"index", "--no-sync", dir / "notes"});
  EXPECT_EQ(write.exit_code, 1);
  EXPECT_NE(write.err.find("read-only"), std::string::npos) << write.err;
}

TEST(CliHardeningTest, BackoffZeroMakesAFailedNoteDueAtOnce) {
  test::TempDir dir;
  test::TestChroma chroma;
  ASSERT_TRUE(chroma.ok());
  test::FaultProxy proxy(chroma.port());
  test::WriteFile(dir / "notes/a.md", "# A\nretry me");
  std::map<std::string, std::string> env{{"KBINDEX_DB", dir / "kb.db"}, {"KBINDEX_CHROMA_URL", proxy.url()}};
  proxy.Inject(test::FaultProxy::Fault::kReturn500, 1, "/upsert");
  auto idx = test::Kbindex({"index", dir / "notes"}, env);
  EXPECT_EQ(idx.exit_code, 1);  // the upsert failed: the note is failed, attempt 1
  // Default backoff (30 s): a worker pass leaves it alone.
  auto waits = test::Kbindex({"worker", "--once", "--json"}, env);
  ASSERT_EQ(waits.exit_code, 0) << waits.err;
  EXPECT_EQ(json::parse(waits.out)["synced"], 0);
  // --backoff-ms 0: due at once.
  auto now = test::Kbindex({"--backoff-ms", "0", "worker", "--once", "--json"}, env);
  ASSERT_EQ(now.exit_code, 0) << now.err;
  EXPECT_EQ(json::parse(now.out)["synced"], 1);
}

}  // namespace
}  // namespace kb
