// ChangeCoalescer: when a changed path is handed to the scanner (quiet period, settle after a
// close, removals held while their folder is busy, moves kept together, a cap for files that
// never stop changing, reconciles replacing what was pending).
#include "watch/coalescer.h"

#include <gtest/gtest.h>

namespace kb::watch {
namespace {

CoalescerOptions Opts() {
  CoalescerOptions o;
  o.quiet_ms = 100;
  o.settle_ms = 20;
  o.max_delay_ms = 1000;
  return o;
}

std::vector<std::string> Paths(const std::vector<ChangeBatch>& batches) {
  std::vector<std::string> out;
  for (const auto& b : batches) out.insert(out.end(), b.paths.begin(), b.paths.end());
  return out;
}

TEST(CoalescerTest, AFileBeingWrittenWaitsForItsQuietPeriod) {
  ChangeCoalescer c(Opts());
  c.Add(0, "a.md", ChangeKind::kTouched, 0);
  c.Add(0, "a.md", ChangeKind::kTouched, 60);  // still being written
  EXPECT_TRUE(c.TakeDue(150).empty());
  EXPECT_EQ(c.NextDue(), 160);
  EXPECT_EQ(Paths(c.TakeDue(160)), std::vector<std::string>{"a.md"});
  EXPECT_EQ(c.pending(), 0u);
  EXPECT_FALSE(c.NextDue());
}

TEST(CoalescerTest, AClosedOrMovedInFileSettlesQuickly) {
  ChangeCoalescer c(Opts());
  c.Add(0, "a.md", ChangeKind::kTouched, 0);
  c.Add(0, "a.md", ChangeKind::kWritten, 5);  // IN_CLOSE_WRITE
  EXPECT_TRUE(c.TakeDue(24).empty());
  EXPECT_EQ(Paths(c.TakeDue(25)), std::vector<std::string>{"a.md"});
  // ... but a write after the close starts the quiet period again.
  c.Add(0, "b.md", ChangeKind::kWritten, 100);
  c.Add(0, "b.md", ChangeKind::kTouched, 110);
  EXPECT_TRUE(c.TakeDue(130).empty());
  EXPECT_EQ(Paths(c.TakeDue(210)), std::vector<std::string>{"b.md"});
}

TEST(CoalescerTest, RemovalsWaitUntilTheirFolderIsQuiet) {
  ChangeCoalescer c(Opts());
  c.Add(0, "old.md", ChangeKind::kRemoved, 0);
  c.Add(0, "x.md", ChangeKind::kRemoved, 50);
  c.Add(0, "busy.md", ChangeKind::kTouched, 90);  // the folder is still busy (an rm -rf going on)
  EXPECT_TRUE(c.TakeDue(150).empty());
  const auto due = c.TakeDue(190);  // 100 ms after the folder's last event
  EXPECT_EQ(Paths(due), (std::vector<std::string>{"busy.md", "old.md", "x.md"}));
  // Another folder's activity does not hold them.
  c.Add(1, "gone.md", ChangeKind::kRemoved, 200);
  c.Add(0, "busy.md", ChangeKind::kTouched, 290);
  EXPECT_EQ(Paths(c.TakeDue(300)), std::vector<std::string>{"gone.md"});
}

TEST(CoalescerTest, AFileAppearingWhileARemovalWaitsGoesWithIt) {
  // mv a.md new/b.md into a folder not watched yet: the removal of a.md is unpaired, b.md is
  // found when new/ is armed. Together the scanner sees a move.
  ChangeCoalescer c(Opts());
  c.Add(0, "a.md", ChangeKind::kRemoved, 0);
  c.Add(0, "new", ChangeKind::kWritten, 5);
  EXPECT_TRUE(c.TakeDue(30).empty());  // a written path alone would be due at 25
  EXPECT_EQ(Paths(c.TakeDue(105)), (std::vector<std::string>{"a.md", "new"}));
  // Without a removal pending, writes are not held.
  c.Add(0, "c.md", ChangeKind::kWritten, 200);
  EXPECT_EQ(Paths(c.TakeDue(220)), std::vector<std::string>{"c.md"});
}

TEST(CoalescerTest, BothSidesOfAMoveAreDueTogether) {
  ChangeCoalescer c(Opts());
  c.AddMove(0, "a.md", "b.md", 0);
  c.Add(0, "b.md", ChangeKind::kTouched, 10);  // e.g. the editor touches the new name
  EXPECT_TRUE(c.TakeDue(50).empty());          // a.md alone would be applied as a removal
  const auto due = c.TakeDue(110);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].paths, (std::vector<std::string>{"a.md", "b.md"}));
}

TEST(CoalescerTest, AFileThatNeverStopsChangingIsStillTakenAfterTheCap) {
  ChangeCoalescer c(Opts());
  int64_t t = 0;
  for (; t < 1000; t += 50) {
    c.Add(0, "log.md", ChangeKind::kTouched, t);
    EXPECT_TRUE(c.TakeDue(t).empty()) << t;
  }
  EXPECT_EQ(Paths(c.TakeDue(1000)), std::vector<std::string>{"log.md"});
}

TEST(CoalescerTest, AReconcileReplacesWhatTheFolderHadPending) {
  ChangeCoalescer c(Opts());
  c.Add(0, "a.md", ChangeKind::kTouched, 0);
  c.Add(1, "b.md", ChangeKind::kTouched, 0);
  c.Reconcile(0, "events were lost");
  c.Reconcile(0, "events were lost");
  c.Reconcile(0, "periodic");
  EXPECT_EQ(c.NextDue(), 0);
  auto due = c.TakeDue(1);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].root, 0u);
  EXPECT_EQ(due[0].reconcile, "events were lost; periodic");
  EXPECT_TRUE(due[0].paths.empty());
  EXPECT_EQ(c.pending(), 1u);  // the other folder's change is untouched
  due = c.TakeDue(100);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].root, 1u);
  EXPECT_EQ(due[0].paths, std::vector<std::string>{"b.md"});
}

}  // namespace
}  // namespace kb::watch
