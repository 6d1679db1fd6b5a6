// ChangeCoalescer: turns the stream of file-system events of watched folders into sets of
// paths worth scanning, at the right moment. Pure bookkeeping (the caller supplies the time),
// so it is tested without a file system.
//
// Rules, per path:
// - a file still being written (created, modified, attributes changed) is due once nothing
//   touched it for `quiet_ms`; one that was closed after writing, or moved into place (an
//   atomic save), after `settle_ms` (a moment for the rest of its burst to arrive);
// - a removal waits, in addition, until its folder had no event for `quiet_ms`: a tree being
//   deleted or unmounted then arrives as one set, which the safety valve can judge as a whole;
// - the two paths of a move are due together (so the scanner sees the rename), and so is any
//   other change of a folder while one of its removals waits (an unpaired move);
// - nothing waits longer than `max_delay_ms` after its first event (a file rewritten
//   continuously is still indexed now and then);
// - a reconcile request (lost events, watch limit, periodic) replaces what a folder had
//   pending: the full scan covers it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kb::watch {

enum class ChangeKind {
  kTouched,  // created, modified, attributes changed: may still be being written
  kWritten,  // closed after writing, or moved into place: complete
  kRemoved,  // deleted, or moved out of the folder
};

struct CoalescerOptions {
  int64_t quiet_ms = 100;
  int64_t settle_ms = 20;
  int64_t max_delay_ms = 2'000;
};

// What the applier does next for one watched folder (`root`, an index into the watcher's
// folders): scan these paths, or (reconcile non-empty) the whole folder, and why.
struct ChangeBatch {
  size_t root = 0;
  std::vector<std::string> paths;  // relative to the folder; sorted
  std::string reconcile;
};

class ChangeCoalescer {
 public:
  explicit ChangeCoalescer(CoalescerOptions options) : options_(options) {}

  void Add(size_t root, const std::string& rel, ChangeKind kind, int64_t now_ms);
  // Both paths of one move inside a folder: due together.
  void AddMove(size_t root, const std::string& from, const std::string& to, int64_t now_ms);
  // A full scan of `root` is needed: drops its pending paths. Reasons accumulate until taken.
  void Reconcile(size_t root, const std::string& reason);

  // Everything due at `now_ms`, reconciles first, one batch per folder and kind.
  std::vector<ChangeBatch> TakeDue(int64_t now_ms);
  // When TakeDue next has something (now or earlier when a reconcile waits); nullopt: nothing
  // pending.
  std::optional<int64_t> NextDue() const;
  size_t pending() const;

 private:
  struct Entry {
    int64_t first_ms = 0;
    int64_t last_ms = 0;
    ChangeKind kind = ChangeKind::kTouched;
    std::string partner;  // the other path of a move, while both are pending
  };
  using Key = std::pair<size_t, std::string>;
  int64_t DueOf(const Key& key, const Entry& e) const;
  // Per folder: when its last pending removal is due (none: absent).
  std::map<size_t, int64_t> RemovalDue() const;
  int64_t EffectiveDue(const Key& key, const Entry& e, const std::map<size_t, int64_t>& removals) const;

  CoalescerOptions options_;
  std::map<Key, Entry> entries_;
  std::map<size_t, int64_t> root_last_ms_;  // last event per folder
  std::map<size_t, std::string> reconcile_;
};

}  // namespace kb::watch
