// Copyright lqs authors. The write-ahead log with each real backend: round trips across files
// and restarts, LSN continuity, release_before, torn tails, corruption in the middle, the empty
// log, and the backends' own contract (offsets, zero-filled preallocation, short writes).
#include "durability/wal.hpp"

#include "durability/crc32c.hpp"
#include "durability/io_backend.hpp"
#include "durability/wal_format.hpp"
#include "unit/durability/wal_test_util.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace lqs::durability {
namespace {

using test::append_n;
using test::expect_records;
using test::kSmallFile;
using test::log_files;
using test::read_all;
using test::records_in;
using test::TempDir;

// ---- every real backend runs the same tests --------------------------------------------------

constexpr uint64_t kFile64K = 64ull * 1024;

enum class Kind { kPwrite, kPwriteShort, kUring };

std::string kind_name(const ::testing::TestParamInfo<Kind>& info) {
  switch (info.param) {
    case Kind::kPwrite:
      return "pwrite";
    case Kind::kPwriteShort:
      return "pwrite_short_writes";
    case Kind::kUring:
      return "io_uring";
  }
  return "unknown";
}

void PrintTo(Kind k, std::ostream* os) {
  *os << (k == Kind::kUring ? "io_uring" : k == Kind::kPwrite ? "pwrite" : "pwrite_short_writes");
}

class WalBackends : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case Kind::kPwrite:
        backend_ = make_pwrite_backend();
        break;
      case Kind::kPwriteShort:
        // Every pwritev call writes at most 1000 bytes: the loop must complete the rest.
        backend_ = make_pwrite_backend(PwriteOptions{.max_bytes_per_call = 1000});
        break;
      case Kind::kUring: {
        auto b = make_uring_backend();
        if (!b) {
          GTEST_SKIP() << "io_uring unavailable here: " << b.error().message;
        }
        backend_ = std::move(*b);
        break;
      }
    }
  }
  std::unique_ptr<Wal> open_wal(uint64_t file_bytes = kSmallFile, WalOpenReport* rep = nullptr) {
    auto w = Wal::open(WalOptions{dir_.path() + "/log", file_bytes, backend_.get()}, rep);
    EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().message);
    return w ? std::move(*w) : nullptr;
  }
  std::string log_dir() const { return dir_.path() + "/log"; }

  TempDir dir_;
  std::unique_ptr<IoBackend> backend_;
};

TEST_P(WalBackends, NameIsTheBackend) {
  const std::string_view expect = GetParam() == Kind::kUring ? "io_uring" : "pwrite";
  EXPECT_EQ(backend_->name(), expect);
}

TEST_P(WalBackends, OpenFileCreatesZeroFilledPreallocatedFile) {
  const std::string path = dir_.sub("f");
  auto fd = backend_->open_file(path, kFile64K, true);
  ASSERT_TRUE(fd.has_value()) << fd.error().message;
  struct stat sb {};
  ASSERT_EQ(::fstat(*fd, &sb), 0);
  EXPECT_EQ(static_cast<uint64_t>(sb.st_size), kFile64K);
  EXPECT_GE(static_cast<uint64_t>(sb.st_blocks) * 512, kFile64K);  // allocated, not sparse
  std::vector<char> back(kFile64K, 1);
  ASSERT_EQ(::pread(*fd, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  EXPECT_EQ(std::count(back.begin(), back.end(), 0), static_cast<long>(back.size()));
  backend_->close_file(*fd);
}

TEST_P(WalBackends, WriteSyncWritesAllBuffersAtTheOffset) {
  const std::string path = dir_.sub("f");
  auto fd = backend_->open_file(path, kFile64K, true);
  ASSERT_TRUE(fd.has_value());
  std::string a(3000, 'a');
  std::string b(5, 'b');
  std::string c(2500, 'c');
  const struct iovec iov[3] = {{a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
  ASSERT_TRUE(backend_->write_sync(*fd, 777, std::span(iov, 3)).has_value());
  std::string back(777 + 5505 + 10, '?');
  ASSERT_EQ(::pread(*fd, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  EXPECT_EQ(back, std::string(777, '\0') + a + b + c + std::string(10, '\0'));
  backend_->close_file(*fd);
  // Reopening without create keeps the contents.
  auto again = backend_->open_file(path, 0, false);
  ASSERT_TRUE(again.has_value());
  char x = 0;
  ASSERT_EQ(::pread(*again, &x, 1, 777 + 3000), 1);
  EXPECT_EQ(x, 'b');
  backend_->close_file(*again);
}

TEST_P(WalBackends, OpenMissingFileIsASystemErrorWithErrno) {
  auto fd = backend_->open_file(dir_.sub("nope/x"), 4096, false);
  ASSERT_FALSE(fd.has_value());
  EXPECT_EQ(fd.error().code, ErrorCode::kSystem);
  EXPECT_EQ(fd.error().sys_errno, ENOENT);
  EXPECT_NE(fd.error().message.find("nope/x"), std::string::npos);
}

TEST_P(WalBackends, RoundTripAcrossFilesAndRestarts) {
  uint64_t last = 0;
  for (int restart = 0; restart < 4; ++restart) {
    WalOpenReport rep;
    auto wal = open_wal(kSmallFile, &rep);
    ASSERT_TRUE(wal);
    EXPECT_EQ(rep.last_lsn, last);
    EXPECT_EQ(rep.records, last);
    EXPECT_FALSE(rep.torn_tail_truncated);
    EXPECT_EQ(wal->durable_lsn(), last);
    EXPECT_EQ(wal->next_lsn(), last + 1);
    for (int batch = 0; batch < 6; ++batch) {
      append_n(*wal, 1 + (batch * 7) % 23);
      EXPECT_GT(wal->pending_bytes(), 0u);
      auto c = wal->commit();
      ASSERT_TRUE(c.has_value()) << c.error().message;
      EXPECT_EQ(*c, wal->next_lsn() - 1);
      EXPECT_EQ(wal->durable_lsn(), *c);
      EXPECT_EQ(wal->pending_bytes(), 0u);
      last = *c;
    }
    expect_records(read_all(log_dir()), 1, last);
  }
  // Several 16 KiB files, named by first LSN in order, each holding whole records.
  const auto files = log_files(log_dir());
  EXPECT_GE(files.size(), 4u);
  uint64_t expect_first = 1;
  for (const auto& f : files) {
    const auto recs = records_in(f);
    ASSERT_FALSE(recs.empty()) << f;
    EXPECT_EQ(recs.front().lsn, expect_first);
    EXPECT_NE(f.find(wal_file_name(expect_first)), std::string::npos);
    expect_first = recs.back().lsn + 1;
    for (const auto& r : recs) {
      EXPECT_LE(r.offset + format::record_bytes(r.length), kSmallFile);
    }
  }
  EXPECT_EQ(expect_first, last + 1);
}

TEST_P(WalBackends, OneCommitSpanningFilesUsesOneWritePerFile) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  append_n(*wal, 400);  // about 60 KiB: four or five files
  const uint64_t pending = wal->pending_bytes();
  auto c = wal->commit();
  ASSERT_TRUE(c.has_value()) << c.error().message;
  const auto st = wal->stats();
  const auto files = log_files(log_dir());
  EXPECT_EQ(st.files_created, files.size());
  EXPECT_EQ(st.syncs, files.size());  // one write_sync per file touched
  EXPECT_EQ(st.bytes_written, pending);
  expect_records(read_all(log_dir()), 1, 400);
}

TEST_P(WalBackends, LargestRecordGetsAFileSizedForIt) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  append_n(*wal, 3);
  const auto big = test::payload_for(99, format::kMaxPayload);
  EXPECT_EQ(wal->append(5, big), 4u);
  append_n(*wal, 2);  // LSNs 5, 6 after it
  ASSERT_TRUE(wal->commit().has_value());
  std::vector<test::Rec> recs = read_all(log_dir());
  ASSERT_EQ(recs.size(), 6u);
  EXPECT_EQ(recs[3].lsn, 4u);
  EXPECT_EQ(recs[3].type, 5);
  EXPECT_EQ(recs[3].data, big);
  wal.reset();
  WalOpenReport rep;
  wal = open_wal(kSmallFile, &rep);
  ASSERT_TRUE(wal);
  EXPECT_EQ(rep.last_lsn, 6u);
}

INSTANTIATE_TEST_SUITE_P(All, WalBackends,
                         ::testing::Values(Kind::kPwrite, Kind::kPwriteShort, Kind::kUring),
                         kind_name);

// ---- the log's behaviour (pwrite backend) ---------------------------------------------------

class WalLog : public ::testing::Test {
 protected:
  std::unique_ptr<Wal> open_wal(WalOpenReport* rep = nullptr, uint64_t file_bytes = kSmallFile) {
    auto w = Wal::open(WalOptions{log_dir(), file_bytes, backend_.get()}, rep);
    EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().message);
    return w ? std::move(*w) : nullptr;
  }
  Result<std::unique_ptr<Wal>> try_open(WalOpenReport* rep = nullptr) {
    return Wal::open(WalOptions{log_dir(), kSmallFile, backend_.get()}, rep);
  }
  std::string log_dir() const { return dir_.path() + "/log"; }
  // Commits `batches` commits of `per` records each.
  void fill(Wal& wal, int batches, uint64_t per) {
    for (int i = 0; i < batches; ++i) {
      append_n(wal, per);
      ASSERT_TRUE(wal.commit().has_value());
    }
  }

  TempDir dir_;
  std::unique_ptr<IoBackend> backend_ = make_pwrite_backend();
};

TEST_F(WalLog, EmptyLog) {
  // A directory that does not exist yet scans as an empty log.
  const auto none = read_all(log_dir());
  EXPECT_TRUE(none.empty());
  WalOpenReport rep;
  auto wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  EXPECT_EQ(rep.files, 0u);
  EXPECT_EQ(rep.records, 0u);
  EXPECT_EQ(rep.last_lsn, 0u);
  EXPECT_EQ(wal->durable_lsn(), 0u);
  EXPECT_EQ(wal->next_lsn(), 1u);
  EXPECT_EQ(wal->pending_bytes(), 0u);
  auto c = wal->commit();  // nothing pending: nothing written
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, 0u);
  EXPECT_EQ(wal->stats().syncs, 0u);
  EXPECT_TRUE(wal->release_before(100).has_value());
  wal.reset();
  ScanReport sr;
  EXPECT_TRUE(read_all(log_dir(), 0, ScanMode::kStrict, &sr).empty());
  EXPECT_EQ(sr.last_lsn, 0u);
  EXPECT_FALSE(sr.torn_tail);
  wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  EXPECT_EQ(wal->append(1, {}), 1u);  // an empty payload is a valid record
  ASSERT_TRUE(wal->commit().has_value());
  const auto recs = read_all(log_dir());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].data.empty());
}

TEST_F(WalLog, BadOptionsAreRejected) {
  EXPECT_EQ(Wal::open(WalOptions{log_dir(), kSmallFile, nullptr}).error().code,
            ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(Wal::open(WalOptions{log_dir(), 100, backend_.get()}).error().code,
            ErrorCode::kInvalidParameterValue);
}

TEST_F(WalLog, LsnsAreConsecutiveAcrossFilesAndRestarts) {
  uint64_t expect = 1;
  for (int round = 0; round < 5; ++round) {
    auto wal = open_wal();
    ASSERT_TRUE(wal);
    for (int i = 0; i < 50; ++i) {
      ASSERT_EQ(wal->append(1, test::payload_for(expect, 100)), expect);
      ++expect;
    }
    // Appended but never committed: lost at the restart, and their LSNs are reused.
    if (round == 2) {
      expect -= 50;
      wal.reset();
      continue;
    }
    ASSERT_EQ(*wal->commit(), expect - 1);
  }
  std::vector<test::Rec> recs = read_all(log_dir());
  ASSERT_EQ(recs.size(), 200u);
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].lsn, i + 1);
  }
}

TEST_F(WalLog, ScanFromAnLsnStartsThereAndVisitCanStop) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 10, 30);  // 300 records over several files
  expect_records(read_all(log_dir(), 123), 123, 300);
  int seen = 0;
  auto r = scan_wal(log_dir(), 50, ScanMode::kStrict,
                    [&](uint64_t lsn, uint16_t, std::span<const std::byte>) {
                      EXPECT_EQ(lsn, 50u + seen);
                      return ++seen < 5;
                    });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(seen, 5);
  EXPECT_EQ(r->records, 5u);
}

TEST_F(WalLog, ReleaseBeforeRemovesOnlyFullyCoveredFiles) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 20, 25);  // 500 records
  const auto before = log_files(log_dir());
  ASSERT_GE(before.size(), 5u);
  std::vector<uint64_t> firsts;
  for (const auto& f : before) {
    firsts.push_back(records_in(f).front().lsn);
  }
  // An LSN inside file 3: files 0..2 hold only smaller LSNs, file 3 holds it.
  const uint64_t cut = firsts[3] + 1;
  ASSERT_TRUE(wal->release_before(cut).has_value());
  auto after = log_files(log_dir());
  ASSERT_EQ(after.size(), before.size() - 3);
  EXPECT_EQ(after.front(), before[3]);
  EXPECT_EQ(wal->stats().files_removed, 3u);
  // Exactly the first LSN of a file: the file before it is covered, that file is not.
  ASSERT_TRUE(wal->release_before(firsts[4]).has_value());
  after = log_files(log_dir());
  EXPECT_EQ(after.front(), before[4]);
  // Everything: the newest file stays.
  ASSERT_TRUE(wal->release_before(UINT64_MAX).has_value());
  after = log_files(log_dir());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after.front(), before.back());
  // What remains scans cleanly from its first LSN, and a restart continues the LSNs.
  const uint64_t first_kept = records_in(after.front()).front().lsn;
  expect_records(read_all(log_dir()), first_kept, 500);
  wal.reset();
  WalOpenReport rep;
  wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  EXPECT_EQ(rep.last_lsn, 500u);
  fill(*wal, 1, 10);
  expect_records(read_all(log_dir()), first_kept, 510);
}

// A torn tail: the last write (a single record) was cut short.
TEST_F(WalLog, TornTailTruncatedRecordIsZeroedAndAppendsContinue) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 3, 10);
  append_n(*wal, 1);  // LSN 31, alone in its write
  const auto big_lsn = wal->next_lsn();
  ASSERT_EQ(wal->append(2, test::payload_for(big_lsn, 3000)), 32u);
  ASSERT_TRUE(wal->commit().has_value());  // LSNs 31 and 32 in one write
  wal.reset();
  const auto files = log_files(log_dir());
  const auto recs = records_in(files.back());
  const auto last = recs.back();
  ASSERT_EQ(last.lsn, 32u);
  // Keep the first 1000 bytes of record 32 (a torn write): zero the rest.
  test::poke(files.back(), last.offset + 1000, std::vector<uint8_t>(2032 - 1000 + 8, 0));
  ScanReport sr;
  expect_records(read_all(log_dir(), 0, ScanMode::kStrict, &sr), 1, 30);
  EXPECT_TRUE(sr.torn_tail);
  EXPECT_TRUE(sr.problems.empty());
  WalOpenReport rep;
  wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  EXPECT_TRUE(rep.torn_tail_truncated);
  // The whole write (31 and 32) is dropped: it was never acknowledged as a whole.
  EXPECT_EQ(rep.last_lsn, 30u);
  EXPECT_EQ(rep.records, 30u);
  EXPECT_EQ(rep.torn_tail_at, wal_file_name(records_in(files.back()).front().lsn) + ":" +
                                  std::to_string(recs[recs.size() - 2].offset));
  // The torn bytes are zero now.
  EXPECT_EQ(test::peek(files.back(), last.offset + 10), 0);
  fill(*wal, 2, 5);
  wal.reset();
  wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  EXPECT_FALSE(rep.torn_tail_truncated);
  expect_records(read_all(log_dir()), 1, 40);
}

TEST_F(WalLog, TornTailBadChecksumAtTheEnd) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 4, 6);  // 24 records; the last write is 19..24
  wal.reset();
  const auto files = log_files(log_dir());
  const auto recs = records_in(files.back());
  test::flip(files.back(), recs.back().offset + 40);  // payload byte of LSN 24 (size > 8)
  WalOpenReport rep;
  wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  EXPECT_TRUE(rep.torn_tail_truncated);
  EXPECT_EQ(rep.last_lsn, 18u);
  EXPECT_EQ(wal->next_lsn(), 19u);
  fill(*wal, 1, 3);
  expect_records(read_all(log_dir()), 1, 21);
}

TEST_F(WalLog, GarbageAfterTheEndOfDataIsATornTail) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 2, 5);
  wal.reset();
  const auto files = log_files(log_dir());
  const auto recs = records_in(files.back());
  const uint64_t end = recs.back().offset + format::record_bytes(recs.back().length);
  test::poke(files.back(), end + 300, {1, 2, 3});  // a torn write whose header is zero
  WalOpenReport rep;
  wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  EXPECT_TRUE(rep.torn_tail_truncated);
  EXPECT_EQ(rep.last_lsn, 10u);
  EXPECT_EQ(test::peek(files.back(), end + 301), 0);
}

TEST_F(WalLog, CorruptMiddleRecordIsCorruptionAndSalvageReturnsTheRest) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 16, 10);  // 160 records over several files
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(wal->append(test::type_for(wal->next_lsn()),
                          test::payload_for(wal->next_lsn(), test::size_for(wal->next_lsn()))),
              161u + i);
    ASSERT_TRUE(wal->commit().has_value());  // single small writes: several in the last file
  }
  wal.reset();
  const auto files = log_files(log_dir());
  ASSERT_GE(files.size(), 3u);
  // Case 1: a record in the middle of the newest file, whose write is followed by another.
  // Case 2: a record in an older file.
  for (const std::string& victim : {files.back(), files[1]}) {
    SCOPED_TRACE(victim);
    const auto recs = records_in(victim);
    ASSERT_GE(recs.size(), 3u);
    const auto target = recs[recs.size() - 3];
    if (victim == files.back()) {
      ASSERT_EQ(target.flags, 1) << "the target's write must be followed by another";
    }
    test::flip(victim, target.offset + 12);  // inside the LSN: header checksum fails
    const std::string name = victim.substr(victim.find_last_of('/') + 1);
    const std::string where = name + ":" + std::to_string(target.offset);

    auto opened = try_open();
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().code, ErrorCode::kCorruption);
    EXPECT_NE(opened.error().message.find(where), std::string::npos) << opened.error().message;

    auto strict = scan_wal(log_dir(), 0, ScanMode::kStrict,
                           [](uint64_t, uint16_t, std::span<const std::byte>) { return true; });
    ASSERT_FALSE(strict.has_value());
    EXPECT_EQ(strict.error().code, ErrorCode::kCorruption);
    EXPECT_NE(strict.error().message.find(where), std::string::npos);

    ScanReport sr;
    const auto got = read_all(log_dir(), 0, ScanMode::kSalvage, &sr);
    ASSERT_EQ(sr.problems.size(), 1u);
    EXPECT_NE(sr.problems[0].find(where), std::string::npos) << sr.problems[0];
    EXPECT_FALSE(sr.torn_tail);
    // Everything but the damaged record, each intact.
    ASSERT_EQ(got.size(), 163u);
    for (const auto& r : got) {
      EXPECT_NE(r.lsn, target.lsn);
      EXPECT_EQ(r.data, test::payload_for(r.lsn, test::size_for(r.lsn)));
    }
    EXPECT_EQ(sr.last_lsn, 164u);
    test::flip(victim, target.offset + 12);  // repair for the next case
  }
  expect_records(read_all(log_dir()), 1, 164);
}

TEST_F(WalLog, ImplausibleLengthIsRejectedWithoutAllocating) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 3, 4);
  wal.reset();
  const auto files = log_files(log_dir());
  const auto recs = records_in(files.back());
  // A header that passes its own checksum but claims 4 GiB - 1 bytes.
  format::RecordHeader h{};
  h.length = 0xFFFFFFFFu;
  h.lsn = recs[1].lsn;
  h.header_crc = crc32c(0, reinterpret_cast<const char*>(&h) + 4, 24);
  std::vector<uint8_t> raw(sizeof h);
  std::memcpy(raw.data(), &h, sizeof h);
  test::poke(files.back(), recs[1].offset, raw);
  auto strict = scan_wal(log_dir(), 0, ScanMode::kStrict,
                         [](uint64_t, uint16_t, std::span<const std::byte>) { return true; });
  ASSERT_FALSE(strict.has_value());
  EXPECT_NE(strict.error().message.find("exceeds the limit"), std::string::npos)
      << strict.error().message;
}

TEST_F(WalLog, MissingMiddleFileIsCorruption) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 16, 10);
  wal.reset();
  const auto files = log_files(log_dir());
  ASSERT_GE(files.size(), 3u);
  const size_t lost = records_in(files[1]).size();
  std::filesystem::remove(files[1]);
  auto opened = try_open();
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::kCorruption);
  EXPECT_NE(opened.error().message.find("missing"), std::string::npos) << opened.error().message;
  ScanReport sr;
  const auto got = read_all(log_dir(), 0, ScanMode::kSalvage, &sr);
  EXPECT_EQ(sr.problems.size(), 1u);
  EXPECT_EQ(got.size(), 160u - lost);
}

TEST_F(WalLog, InterruptedRollLeavesAHeaderlessFileThatOpenRemoves) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 2, 10);
  wal.reset();
  // A crash after open_file(create) and before the header write: a zero-filled file.
  const std::string stray = log_dir() + "/" + wal_file_name(21);
  {
    auto fd = backend_->open_file(stray, kSmallFile, true);
    ASSERT_TRUE(fd.has_value());
    backend_->close_file(*fd);
  }
  ScanReport sr;
  expect_records(read_all(log_dir(), 0, ScanMode::kStrict, &sr), 1, 20);
  EXPECT_TRUE(sr.torn_tail);  // an interrupted roll counts as a (harmless) torn tail
  WalOpenReport rep;
  wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  ASSERT_EQ(rep.removed_incomplete.size(), 1u);
  EXPECT_EQ(rep.removed_incomplete[0], wal_file_name(21));
  EXPECT_FALSE(std::filesystem::exists(stray));
  fill(*wal, 1, 3);
  expect_records(read_all(log_dir()), 1, 23);
}

TEST_F(WalLog, PreparedSpareIsRenamedIntoPlaceAtTheNextRoll) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 1, 10);
  const std::string spare = log_dir() + "/" + Wal::kSpareName;
  ASSERT_TRUE(Wal::prepare_spare(log_dir(), kSmallFile).has_value());
  ASSERT_TRUE(std::filesystem::exists(spare));
  EXPECT_EQ(std::filesystem::file_size(spare), kSmallFile);
  ASSERT_TRUE(Wal::prepare_spare(log_dir(), kSmallFile).has_value());  // no-op: one exists
  const size_t files_before = log_files(log_dir()).size();
  fill(*wal, 4, 30);  // rolls at least once
  EXPECT_GT(log_files(log_dir()).size(), files_before);
  EXPECT_EQ(wal->stats().spares_used, 1u);
  EXPECT_FALSE(std::filesystem::exists(spare));
  expect_records(read_all(log_dir()), 1, 130);
  // A spare of another size is left alone.
  ASSERT_TRUE(Wal::prepare_spare(log_dir(), 2 * kSmallFile).has_value());
  fill(*wal, 4, 30);
  EXPECT_EQ(wal->stats().spares_used, 1u);
  EXPECT_TRUE(std::filesystem::exists(spare));
  std::filesystem::remove(spare);
  // A crash right after a spare was renamed into place (before its header): open removes it.
  ASSERT_TRUE(Wal::prepare_spare(log_dir(), kSmallFile).has_value());
  const uint64_t next = wal->next_lsn();
  wal.reset();
  std::filesystem::rename(spare, log_dir() + "/" + wal_file_name(next));
  // And a spare whose preparation was interrupted.
  { std::ofstream(log_dir() + "/" + Wal::kSpareName + ".tmp") << "partial"; }
  WalOpenReport rep;
  wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  ASSERT_EQ(rep.removed_incomplete.size(), 1u);
  EXPECT_EQ(rep.removed_incomplete[0], wal_file_name(next));
  EXPECT_FALSE(std::filesystem::exists(log_dir() + "/" + Wal::kSpareName + ".tmp"));
  EXPECT_EQ(rep.last_lsn, next - 1);
  fill(*wal, 1, 5);
  expect_records(read_all(log_dir()), 1, next + 4);
}

// ---- recycled files (format version 2) -----------------------------------------------------

// The released files kept for reuse in the log's directory.
std::vector<std::string> free_files(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind(Wal::kFreePrefix, 0) == 0) {
      v.push_back(e.path().string());
    }
  }
  return v;
}

uint32_t file_flags(const std::string& path) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) {
    v = (v << 8) | test::peek(path, offsetof(format::FileHeader, flags) + i);
  }
  return v;
}

TEST_F(WalLog, ReleasedFilesAreReusedAndReadCleanlyWithTheirStaleBytes) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 10, 25);  // 250 records
  const size_t before = log_files(log_dir()).size();
  ASSERT_GE(before, 4u);
  ASSERT_TRUE(wal->release_before(UINT64_MAX).has_value());
  const uint64_t kept = std::min<uint64_t>(before - 1, WalOptions{}.max_free_files);
  EXPECT_EQ(wal->stats().files_removed, before - 1);
  EXPECT_EQ(wal->stats().files_recycled, kept);
  EXPECT_EQ(free_files(log_dir()).size(), kept);
  // While released files wait, no spare is zero-filled.
  ASSERT_TRUE(Wal::prepare_spare(log_dir(), kSmallFile).has_value());
  EXPECT_FALSE(std::filesystem::exists(log_dir() + "/" + Wal::kSpareName));
  const uint64_t first_kept = records_in(log_files(log_dir()).front()).front().lsn;
  fill(*wal, 10, 25);  // rolls into them
  EXPECT_EQ(wal->stats().recycled_used, kept);
  EXPECT_EQ(wal->stats().spares_used, 0u);
  EXPECT_TRUE(free_files(log_dir()).empty());
  // The recycled files say so, and hold stale bytes after their data (the test's premise).
  int recycled = 0;
  int stale_after_data = 0;
  for (const auto& f : log_files(log_dir())) {
    if (file_flags(f) != format::kFileRecycled) {
      continue;
    }
    ++recycled;
    const auto recs = records_in(f);
    ASSERT_FALSE(recs.empty());
    const uint64_t end = recs.back().offset + format::record_bytes(recs.back().length);
    for (uint64_t o = end + 32; o < kSmallFile; ++o) {
      if (test::peek(f, o) != 0) {
        ++stale_after_data;
        break;
      }
    }
  }
  EXPECT_EQ(recycled, static_cast<int>(kept));
  EXPECT_GT(stale_after_data, 0);
  // Strict reads and a restart see exactly the records, with no repair.
  ScanReport sr;
  expect_records(read_all(log_dir(), 0, ScanMode::kStrict, &sr), first_kept, 500);
  EXPECT_FALSE(sr.torn_tail);
  wal.reset();
  WalOpenReport rep;
  wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  EXPECT_FALSE(rep.torn_tail_truncated);
  EXPECT_TRUE(rep.removed_incomplete.empty());
  EXPECT_EQ(rep.last_lsn, 500u);
  fill(*wal, 1, 5);
  expect_records(read_all(log_dir()), first_kept, 505);
  // A middle record's damage in a recycled file is still corruption, not an end of data.
  wal.reset();
  const auto files = log_files(log_dir());
  std::string target;
  for (size_t i = 0; i + 1 < files.size() && target.empty(); ++i) {
    if (file_flags(files[i]) == format::kFileRecycled && records_in(files[i]).size() > 4) {
      target = files[i];
    }
  }
  ASSERT_FALSE(target.empty());
  test::poke(target, records_in(target)[2].offset, std::vector<uint8_t>(32, 0));
  auto bad = try_open();
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kCorruption);
  EXPECT_NE(bad.error().message.find("follows a zero record header"), std::string::npos)
      << bad.error().message;
}

TEST_F(WalLog, ReleasedFilesBeyondTheLimitOrOfAnotherSizeAreRemoved) {
  {
    auto w = Wal::open(WalOptions{log_dir(), kSmallFile, backend_.get(), 0});
    ASSERT_TRUE(w.has_value());
    fill(**w, 10, 25);
    ASSERT_TRUE((*w)->release_before(UINT64_MAX).has_value());
    EXPECT_GE((*w)->stats().files_removed, 3u);
    EXPECT_EQ((*w)->stats().files_recycled, 0u);
    EXPECT_TRUE(free_files(log_dir()).empty());
  }
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 10, 25);
  ASSERT_TRUE(wal->release_before(UINT64_MAX).has_value());
  ASSERT_FALSE(free_files(log_dir()).empty());
  const uint64_t last = wal->next_lsn() - 1;
  wal.reset();
  // Reopened with a larger file size: the released files do not fit and are dropped at roll.
  auto w = Wal::open(WalOptions{log_dir(), 2 * kSmallFile, backend_.get()});
  ASSERT_TRUE(w.has_value());
  fill(**w, 10, 25);
  EXPECT_EQ((*w)->stats().recycled_used, 0u);
  EXPECT_TRUE(free_files(log_dir()).empty());
  const auto recs = read_all(log_dir());
  ASSERT_FALSE(recs.empty());
  expect_records(recs, recs.front().lsn, last + 250);
}

// Free files are reusable only while their stale records are older than anything the log will
// write: released before the oldest log file. If the log files are removed by hand (LSNs start
// over at 1), a kept free file would hold records with LSNs the new log reuses; open removes
// it. Names that are not 16 hex digits are not free files and are left alone.
TEST_F(WalLog, FreeFilesNewerThanTheLogAreRemovedAtOpen) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 10, 25);
  ASSERT_TRUE(wal->release_before(UINT64_MAX).has_value());
  const size_t kept = free_files(log_dir()).size();
  ASSERT_GE(kept, 2u);
  wal.reset();
  const std::string odd = log_dir() + "/" + Wal::kFreePrefix + "not-hex-digits!!";
  { std::ofstream(odd) << "x"; }
  // A restart keeps them (all released before the oldest log file) ...
  wal = open_wal();
  ASSERT_TRUE(wal);
  EXPECT_EQ(free_files(log_dir()).size(), kept + 1);  // + the odd name
  wal.reset();
  // ... up to max_free_files, the newest ...
  std::vector<std::string> before = free_files(log_dir());
  std::erase(before, odd);
  {
    auto w = Wal::open(WalOptions{log_dir(), kSmallFile, backend_.get(), 1});
    ASSERT_TRUE(w.has_value());
  }
  std::vector<std::string> after = free_files(log_dir());
  std::erase(after, odd);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after.front(), *std::max_element(before.begin(), before.end()));
  // ... until the log files are gone.
  for (const auto& f : log_files(log_dir())) {
    std::filesystem::remove(f);
  }
  wal = open_wal();
  ASSERT_TRUE(wal);
  EXPECT_EQ(wal->next_lsn(), 1u);
  ASSERT_EQ(free_files(log_dir()).size(), 1u);
  EXPECT_EQ(free_files(log_dir()).front(), odd);
  fill(*wal, 10, 25);
  EXPECT_EQ(wal->stats().recycled_used, 0u);
  ScanReport sr;
  expect_records(read_all(log_dir(), 0, ScanMode::kStrict, &sr), 1, 250);
  EXPECT_FALSE(sr.torn_tail);
}

// A crash after a roll renamed a released file into place and before its new header: the
// newest file has the old file's header and records, none of them its own. Open removes it.
TEST_F(WalLog, RecycledFileWhoseNewHeaderWasNeverWrittenIsRemovedAtOpen) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 10, 25);
  ASSERT_TRUE(wal->release_before(UINT64_MAX).has_value());
  const auto frees = free_files(log_dir());
  ASSERT_FALSE(frees.empty());
  const uint64_t first_kept = records_in(log_files(log_dir()).front()).front().lsn;
  const uint64_t next = wal->next_lsn();
  wal.reset();
  const std::string stray = log_dir() + "/" + wal_file_name(next);
  std::filesystem::rename(frees.front(), stray);
  ScanReport sr;
  expect_records(read_all(log_dir(), 0, ScanMode::kStrict, &sr), first_kept, next - 1);
  EXPECT_TRUE(sr.torn_tail);
  WalOpenReport rep;
  wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  ASSERT_EQ(rep.removed_incomplete.size(), 1u);
  EXPECT_EQ(rep.removed_incomplete[0], wal_file_name(next));
  EXPECT_FALSE(std::filesystem::exists(stray));
  fill(*wal, 1, 5);
  expect_records(read_all(log_dir()), first_kept, next + 4);
  // The same file with records of its own after a damaged header is corruption, not a roll.
  wal.reset();
  const auto files = log_files(log_dir());
  test::flip(files.back(), 20);  // the newest file's header
  auto bad = try_open();
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kCorruption);
}

// A torn write in a recycled file: a record of it landed after a lost first sector (where the
// previous write's zero header still is). Recovery drops it and zeroes it: left there, a later
// write of other records with the same LSNs could mix with it after another crash.
TEST_F(WalLog, TornWriteInARecycledFileIsZeroedUpToItsLastRecord) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 10, 25);
  ASSERT_TRUE(wal->release_before(UINT64_MAX).has_value());
  while (wal->stats().recycled_used == 0) {
    fill(*wal, 1, 5);
  }
  fill(*wal, 1, 2);  // the newest file is recycled and holds records
  const uint64_t durable = wal->durable_lsn();
  append_n(*wal, 4);
  ASSERT_TRUE(wal->commit().has_value());  // the write that will be torn
  wal.reset();
  const std::string f = log_files(log_dir()).back();
  ASSERT_EQ(file_flags(f), format::kFileRecycled);
  const auto recs = records_in(f);
  ASSERT_GE(recs.size(), 5u);
  const auto first_torn = recs[recs.size() - 4];
  ASSERT_EQ(first_torn.lsn, durable + 1);
  const auto last = recs.back();
  test::poke(f, first_torn.offset, std::vector<uint8_t>(32, 0));
  WalOpenReport rep;
  wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  EXPECT_TRUE(rep.torn_tail_truncated);
  EXPECT_EQ(rep.last_lsn, durable);
  for (uint64_t o = last.offset; o < last.offset + 32; ++o) {
    ASSERT_EQ(test::peek(f, o), 0) << "offset " << o;
  }
  fill(*wal, 1, 3);
  wal.reset();
  wal = open_wal(&rep);
  ASSERT_TRUE(wal);
  EXPECT_FALSE(rep.torn_tail_truncated);
  EXPECT_EQ(rep.last_lsn, durable + 3);
}

// Files of format version 1 (zero-filled, no flags) are read as before.
TEST_F(WalLog, VersionOneFilesAreStillRead) {
  auto wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 4, 25);
  wal.reset();
  for (const auto& f : log_files(log_dir())) {
    format::FileHeader h{};
    std::ifstream in(f, std::ios::binary);
    in.read(reinterpret_cast<char*>(&h), sizeof h);
    h.version = 1;
    h.header_crc =
        crc32c(0, reinterpret_cast<const char*>(&h), offsetof(format::FileHeader, header_crc));
    std::vector<uint8_t> bytes(sizeof h);
    std::memcpy(bytes.data(), &h, sizeof h);
    test::poke(f, 0, bytes);
  }
  expect_records(read_all(log_dir()), 1, 100);
  wal = open_wal();
  ASSERT_TRUE(wal);
  fill(*wal, 1, 5);
  expect_records(read_all(log_dir()), 1, 105);
  // A version-1 header with a flag set is not a version-1 file.
  wal.reset();
  const std::string f = log_files(log_dir()).front();
  format::FileHeader h{};
  {
    std::ifstream in(f, std::ios::binary);
    in.read(reinterpret_cast<char*>(&h), sizeof h);
  }
  ASSERT_EQ(h.version, 1u);
  h.flags = format::kFileRecycled;
  h.header_crc =
      crc32c(0, reinterpret_cast<const char*>(&h), offsetof(format::FileHeader, header_crc));
  std::vector<uint8_t> bytes(sizeof h);
  std::memcpy(bytes.data(), &h, sizeof h);
  test::poke(f, 0, bytes);
  auto bad = try_open();
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("unknown flags"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace lqs::durability
