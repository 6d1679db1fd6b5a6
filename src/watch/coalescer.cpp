#include "watch/coalescer.h"

#include <algorithm>

namespace kb::watch {

void ChangeCoalescer::Add(size_t root, const std::string& rel, ChangeKind kind, int64_t now_ms) {
  auto [it, inserted] = entries_.try_emplace(Key{root, rel});
  if (inserted) it->second.first_ms = now_ms;
  it->second.last_ms = now_ms;
  it->second.kind = kind;
  root_last_ms_[root] = now_ms;
}

void ChangeCoalescer::AddMove(size_t root, const std::string& from, const std::string& to, int64_t now_ms) {
  // Both sides are complete (a rename moves a finished file); the source counts as written
  // too, so that it is not held back like a removal while its destination goes ahead.
  Add(root, from, ChangeKind::kWritten, now_ms);
  Add(root, to, ChangeKind::kWritten, now_ms);
  if (from == to) return;
  entries_[Key{root, from}].partner = to;
  entries_[Key{root, to}].partner = from;
}

void ChangeCoalescer::Reconcile(size_t root, const std::string& reason) {
  for (auto it = entries_.lower_bound(Key{root, ""}); it != entries_.end() && it->first.first == root;) {
    it = entries_.erase(it);
  }
  std::string& r = reconcile_[root];
  if (r.find(reason) == std::string::npos) r += r.empty() ? reason : "; " + reason;
}

int64_t ChangeCoalescer::DueOf(const Key& key, const Entry& e) const {
  int64_t due = e.last_ms + (e.kind == ChangeKind::kWritten ? options_.settle_ms : options_.quiet_ms);
  if (e.kind == ChangeKind::kRemoved) {
    auto it = root_last_ms_.find(key.first);
    if (it != root_last_ms_.end()) due = std::max(due, it->second + options_.quiet_ms);
  }
  return std::min(due, e.first_ms + options_.max_delay_ms);
}

std::map<size_t, int64_t> ChangeCoalescer::RemovalDue() const {
  std::map<size_t, int64_t> out;
  for (const auto& [key, e] : entries_) {
    if (e.kind != ChangeKind::kRemoved) continue;
    const int64_t d = DueOf(key, e);
    auto [it, inserted] = out.try_emplace(key.first, d);
    if (!inserted) it->second = std::max(it->second, d);
  }
  return out;
}

int64_t ChangeCoalescer::EffectiveDue(const Key& key, const Entry& e, const std::map<size_t, int64_t>& removals) const {
  int64_t due = DueOf(key, e);
  if (!e.partner.empty()) {
    const Key other{key.first, e.partner};
    auto it = entries_.find(other);
    if (it != entries_.end()) due = std::max(due, DueOf(other, it->second));
  }
  if (e.kind != ChangeKind::kRemoved) {
    // A file that appears while a removal in its folder waits goes with it: a move whose two
    // events could not be paired (into a folder not watched yet) is then one set, which the
    // scanner recognises as a move (same content) and keeps the note's history.
    if (auto it = removals.find(key.first); it != removals.end()) {
      due = std::max(due, std::min(it->second, e.first_ms + options_.max_delay_ms));
    }
  }
  return due;
}

std::vector<ChangeBatch> ChangeCoalescer::TakeDue(int64_t now_ms) {
  std::vector<ChangeBatch> out;
  for (auto& [root, reason] : reconcile_) out.push_back(ChangeBatch{root, {}, std::move(reason)});
  reconcile_.clear();
  std::map<size_t, std::vector<std::string>> due;
  const auto removals = RemovalDue();
  for (const auto& [key, e] : entries_) {
    if (EffectiveDue(key, e, removals) <= now_ms) due[key.first].push_back(key.second);
  }
  for (auto& [root, paths] : due) {
    for (const std::string& p : paths) entries_.erase(Key{root, p});
    out.push_back(ChangeBatch{root, std::move(paths), ""});  // sorted: map order
  }
  return out;
}

std::optional<int64_t> ChangeCoalescer::NextDue() const {
  if (!reconcile_.empty()) return 0;
  std::optional<int64_t> next;
  const auto removals = RemovalDue();
  for (const auto& [key, e] : entries_) {
    const int64_t d = EffectiveDue(key, e, removals);
    if (!next || d < *next) next = d;
  }
  return next;
}

size_t ChangeCoalescer::pending() const { return entries_.size(); }

}  // namespace kb::watch
