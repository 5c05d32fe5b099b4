// Copyright lqs authors. The write-ahead log under injected faults (FaultyBackend): EIO and
// ENOSPC give clear errors, corrupt nothing, and a retry succeeds; a simulated power loss in
// the middle of a commit or a file roll leaves exactly the committed records.
#include "durability/io_backend.hpp"
#include "durability/wal.hpp"
#include "unit/durability/wal_test_util.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <ostream>
#include <random>
#include <string>

namespace lqs::durability {
namespace {

using test::append_n;
using test::expect_records;
using test::kSmallFile;
using test::log_files;
using test::read_all;
using test::TempDir;
using Tear = FaultyBackend::Tear;

class WalFaults : public ::testing::Test {
 protected:
  std::unique_ptr<Wal> open_wal(IoBackend* b, WalOpenReport* rep = nullptr) {
    auto w = Wal::open(WalOptions{log_dir(), kSmallFile, b}, rep);
    EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().message);
    return w ? std::move(*w) : nullptr;
  }
  std::string log_dir() const { return dir_.path() + "/log"; }

  TempDir dir_;
  std::unique_ptr<IoBackend> real_ = make_pwrite_backend();
  FaultyBackend faulty_{*real_};
};

TEST_F(WalFaults, EioOnAWriteIsReportedAndARetrySucceeds) {
  auto wal = open_wal(&faulty_);
  ASSERT_TRUE(wal);
  append_n(*wal, 10);
  ASSERT_EQ(*wal->commit(), 10u);
  append_n(*wal, 10);
  const uint64_t pending = wal->pending_bytes();
  // The write fails after its first 300 bytes reached the disk.
  faulty_.fail_write(1, EIO, Tear::kPrefix, 300);
  auto c = wal->commit();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kSystem);
  EXPECT_EQ(c.error().sys_errno, EIO);
  EXPECT_NE(c.error().message.find("Input/output error"), std::string::npos) << c.error().message;
  EXPECT_EQ(wal->durable_lsn(), 10u);
  EXPECT_EQ(wal->pending_bytes(), pending);  // still buffered
  // On disk: the committed records, then a torn tail that a reader recognises.
  ScanReport sr;
  expect_records(read_all(log_dir(), 0, ScanMode::kStrict, &sr), 1, 10);
  EXPECT_TRUE(sr.torn_tail);
  // More appends join the pending write; the retry rewrites it all from the durable offset.
  append_n(*wal, 5);
  auto again = wal->commit();
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(*again, 25u);
  wal.reset();
  WalOpenReport rep;
  wal = open_wal(real_.get(), &rep);
  ASSERT_TRUE(wal);
  EXPECT_FALSE(rep.torn_tail_truncated);
  expect_records(read_all(log_dir()), 1, 25);
}

TEST_F(WalFaults, EnospcUntilSpaceIsFreedThenCommitSucceeds) {
  auto wal = open_wal(&faulty_);
  ASSERT_TRUE(wal);
  append_n(*wal, 20);
  ASSERT_TRUE(wal->commit().has_value());
  faulty_.fail_all(ENOSPC);
  append_n(*wal, 300);  // needs new files too
  for (int i = 0; i < 3; ++i) {
    auto c = wal->commit();
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, ErrorCode::kNoSpace);
    EXPECT_EQ(c.error().sys_errno, ENOSPC);
    EXPECT_EQ(wal->durable_lsn(), 20u);
  }
  expect_records(read_all(log_dir()), 1, 20);
  faulty_.clear_faults();
  auto c = wal->commit();
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(*c, 320u);
  expect_records(read_all(log_dir()), 1, 320);
}

TEST_F(WalFaults, EnospcCreatingTheNextFileKeepsTheFirstFilesRecords) {
  auto wal = open_wal(&faulty_);
  ASSERT_TRUE(wal);
  append_n(*wal, 10);
  ASSERT_TRUE(wal->commit().has_value());
  const size_t files_before = log_files(log_dir()).size();
  append_n(*wal, 200);  // fills the current file and rolls over
  faulty_.fail_next_create(ENOSPC);
  auto c = wal->commit();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kNoSpace);
  // The part in the current file was written and synced: durable, and durable_lsn says so.
  const uint64_t durable = wal->durable_lsn();
  EXPECT_GT(durable, 10u);
  EXPECT_LT(durable, 210u);
  EXPECT_EQ(log_files(log_dir()).size(), files_before);  // no half-created file left
  expect_records(read_all(log_dir()), 1, durable);
  auto again = wal->commit();
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(*again, 210u);
  expect_records(read_all(log_dir()), 1, 210);
}

TEST_F(WalFaults, FailedFileHeaderWriteIsRetried) {
  auto wal = open_wal(&faulty_);
  ASSERT_TRUE(wal);
  append_n(*wal, 5);
  faulty_.fail_write(1, EIO);  // the first write is the new file's header
  ASSERT_FALSE(wal->commit().has_value());
  EXPECT_EQ(wal->durable_lsn(), 0u);
  EXPECT_TRUE(log_files(log_dir()).empty());
  ASSERT_EQ(*wal->commit(), 5u);
  expect_records(read_all(log_dir()), 1, 5);
}

struct CrashCase {
  const char* name;
  Tear tear;
  uint64_t bytes;
  bool recycle = false;  // release the older files every round: rolls reuse them (stale
                         // records of earlier files after the data, tears over stale bytes)
};

// gtest prints the parameter in test listings; the name says it all.
void PrintTo(const CrashCase& c, std::ostream* os) { *os << c.name; }

class WalPowerLoss : public WalFaults, public ::testing::WithParamInterface<CrashCase> {};

// Rounds of: committed batches, then a power loss during the next write (a record write or a
// new file's header), then a reboot with a fresh backend. After every reboot the log holds
// exactly the committed records, and appending continues from the next LSN.
TEST_P(WalPowerLoss, ExactlyTheCommittedRecordsSurvive) {
  std::mt19937 rng(1234);
  uint64_t committed = 0;
  uint64_t first_kept = 1;  // first LSN of the log (recycle: older files released)
  uint32_t seed = 1;
  int torn_seen = 0;
  uint64_t recycled_used = 0;
  for (int round = 0; round < 25; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    FaultyBackend faulty(*real_);
    WalOpenReport rep;
    auto wal = open_wal(&faulty, &rep);
    ASSERT_TRUE(wal);
    ASSERT_EQ(rep.last_lsn, committed);
    torn_seen += rep.torn_tail_truncated ? 1 : 0;
    const int batches = static_cast<int>(rng() % 4);
    for (int b = 0; b < batches; ++b) {
      append_n(*wal, 1 + rng() % 30);
      auto c = wal->commit();
      ASSERT_TRUE(c.has_value()) << c.error().message;
      committed = *c;
    }
    if (GetParam().recycle && round % 3 == 0) {
      // All but the newest file; in between, several recycled files make up the log.
      ASSERT_TRUE(wal->release_before(UINT64_MAX).has_value());
    }
    append_n(*wal, 1 + rng() % 60);
    // Sometimes the lost write is a later one of the commit (after a roll's first part).
    const uint64_t nth = 1 + rng() % 3;
    faulty.crash_at_write(nth, GetParam().tear,
                          GetParam().bytes == 0 ? rng() % 2000 : GetParam().bytes, seed++);
    auto c = wal->commit();
    if (c.has_value()) {
      committed = *c;  // the commit needed fewer writes than nth: the power fails afterwards
      faulty.crash();
    } else {
      EXPECT_TRUE(faulty.crashed());
      // A commit that spans files may have made its first file's part durable before the loss.
      committed = std::max(committed, wal->durable_lsn());
    }
    recycled_used += wal->stats().recycled_used;
    wal.reset();  // the process is gone; only the disk remains
    ScanReport sr;
    const auto got = read_all(log_dir(), 0, ScanMode::kStrict, &sr);
    if (!got.empty()) {
      first_kept = got.front().lsn;
    }
    if (got.size() != committed) {
      for (const auto& f : log_files(log_dir())) {
        for (const auto& r : test::records_in(f)) {
          std::printf("%s off %llu lsn %llu len %u flags %u\n", f.c_str(),
                      (unsigned long long)r.offset, (unsigned long long)r.lsn, r.length, r.flags);
        }
      }
      std::printf("stats syncs; durable %llu\n", (unsigned long long)committed);
    }
    expect_records(got, first_kept, committed);
    EXPECT_TRUE(sr.problems.empty());
  }
  auto wal = open_wal(real_.get());
  ASSERT_TRUE(wal);
  EXPECT_EQ(wal->durable_lsn(), committed);
  append_n(*wal, 3);
  ASSERT_EQ(*wal->commit(), committed + 3);
  expect_records(read_all(log_dir()), first_kept, committed + 3);
  if (GetParam().tear != Tear::kNothing) {
    EXPECT_GT(torn_seen, 0);  // the tears did leave bytes that recovery had to remove
  } else {
    EXPECT_EQ(torn_seen, 0);  // nothing of the lost writes reached the disk: the data ends
                              // cleanly (stale bytes of a recycled file are no torn tail)
  }
  if (GetParam().recycle) {
    EXPECT_GT(first_kept, 1u);
    EXPECT_GT(recycled_used, 10u);  // most rolls reused a released file
  }
}

INSTANTIATE_TEST_SUITE_P(Tears, WalPowerLoss,
                         ::testing::Values(CrashCase{"nothing", Tear::kNothing, 1},
                                           CrashCase{"prefix", Tear::kPrefix, 0},
                                           CrashCase{"scattered", Tear::kScatteredSectors, 1},
                                           CrashCase{"nothing_recycled", Tear::kNothing, 1, true},
                                           CrashCase{"prefix_recycled", Tear::kPrefix, 0, true},
                                           CrashCase{"scattered_recycled", Tear::kScatteredSectors,
                                                     1, true}),
                         [](const auto& tp) { return std::string(tp.param.name); });

TEST_F(WalFaults, PowerLossWithNothingPendingLosesNothing) {
  auto wal = open_wal(&faulty_);
  ASSERT_TRUE(wal);
  append_n(*wal, 40);
  ASSERT_EQ(*wal->commit(), 40u);
  faulty_.crash();
  append_n(*wal, 5);
  ASSERT_FALSE(wal->commit().has_value());
  wal.reset();
  expect_records(read_all(log_dir()), 1, 40);
}

}  // namespace
}  // namespace lqs::durability
