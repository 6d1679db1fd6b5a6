// Shared setup for integration tests: a real Chroma, a store on disk, a notes folder, and a
// SyncEngine wired to them (optionally through a FaultProxy).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "embed/hash_embedder.h"
#include "scan/scanner.h"
#include "store/document_store.h"
#include "support/fault_proxy.h"
#include "support/invariant.h"
#include "support/temp_dir.h"
#include "support/test_chroma.h"
#include "sync/sync_engine.h"

namespace kb::test {

class Harness {
 public:
  explicit Harness(bool with_proxy = false) {
    if (!chroma.ok()) return;
    if (with_proxy) proxy = std::make_unique<FaultProxy>(chroma.port());
    client = chroma.Client(10'000, proxy ? proxy->url() : "");
    direct = chroma.Client();
    auto s = DocumentStore::Open(dir / "kb.db");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    store = std::move(s).value();
    notes = dir / "notes";
    std::filesystem::create_directories(notes);
    options.collection = "kbindex";
    options.chunker.max_bytes = 400;
    options.unreachable_retry_ms = 0;
  }

  bool ready() const { return chroma.ok() && store && client; }

  SyncEngine& Engine() {
    if (!engine) engine = std::make_unique<SyncEngine>(*store, *client, embedder, options);
    return *engine;
  }
  void ResetEngine() { engine.reset(); }

  ScanReport Scan() {
    ScanOptions o;
    o.root = notes;
    auto r = ScanFolder(*store, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ScanReport{};
  }
  SyncReport Sync(PassOptions pass = {}) { return Engine().Run(pass); }

  void Write(const std::string& rel, const std::string& text) {
    WriteFile(notes + "/" + rel, text);
    BumpMtime(notes + "/" + rel, 0);
  }
  // A note with `sections` sections of ~300 bytes: one chunk each at max_bytes 400.
  static std::string Note(const std::string& title, int sections, const std::string& salt = "") {
    std::string s = "# " + title + "\n";
    for (int i = 0; i < sections; ++i) {
      s += "## Section " + std::to_string(i) + "\n";
      for (int w = 0; w < 40; ++w) s += "word" + std::to_string((w * 7 + i) % 23) + salt + " ";
      s += "\n\n";
    }
    return s;
  }
  void WriteNotes(int n, int sections = 1) {
    for (int i = 0; i < n; ++i) Write("n" + std::to_string(i) + ".md", Note("Note " + std::to_string(i), sections));
  }
  Document Get(const std::string& rel) {
    auto d = store->Get("notes:" + rel);
    EXPECT_TRUE(d.ok() && d->has_value()) << rel;
    return d.ok() && d->has_value() ? **d : Document{};
  }
  CollectionRef Collection() {
    auto c = direct->GetCollection("kbindex");
    EXPECT_TRUE(c.ok() && c->has_value());
    return c.ok() && c->has_value() ? **c : CollectionRef{};
  }
  int64_t ChromaCount() { return direct->Count(Collection()).value_or(-1); }
  ::testing::AssertionResult Inv() {
    InvOptions o;
    o.folder = notes;
    return Invariant(*store, *direct, "kbindex", o);
  }

  TempDir dir;
  TestChroma chroma;
  std::unique_ptr<FaultProxy> proxy;
  std::unique_ptr<ChromaClient> client;  // what the engine uses (through the proxy if any)
  std::unique_ptr<ChromaClient> direct;  // straight to Chroma, for assertions
  std::unique_ptr<DocumentStore> store;
  std::string notes;
  HashEmbedder embedder{384};
  SyncOptions options;
  std::unique_ptr<SyncEngine> engine;
};

}  // namespace kb::test
