// Copyright lqs authors. Damaged logs as untrusted input: random byte flips, random garbage
// stretches and truncations anywhere (file headers included). scan_wal in both modes and
// Wal::open must never crash, hang or return a record that was not written; damage that
// removes records must be reported (an error, a problem, or a torn tail).
#include "durability/io_backend.hpp"
#include "durability/wal.hpp"
#include "unit/durability/wal_test_util.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

namespace lqs::durability {
namespace {

using test::append_n;
using test::kSmallFile;
using test::log_files;
using test::TempDir;
namespace fs = std::filesystem;

struct Outcome {
  bool ok = false;
  ErrorCode code = ErrorCode::kOk;
  std::string message;
  std::vector<uint64_t> lsns;
  ScanReport report;
};

Outcome scan(const std::string& dir, ScanMode mode) {
  Outcome o;
  auto r = scan_wal(dir, 0, mode, [&](uint64_t lsn, uint16_t type, std::span<const std::byte> p) {
    // Every record handed out is one that was written, byte for byte.
    EXPECT_EQ(type, test::type_for(lsn));
    EXPECT_EQ(std::vector<std::byte>(p.begin(), p.end()),
              test::payload_for(lsn, test::size_for(lsn)))
        << "lsn " << lsn;
    o.lsns.push_back(lsn);
    return true;
  });
  o.ok = r.has_value();
  if (o.ok) {
    o.report = *r;
  } else {
    o.code = r.error().code;
    o.message = r.error().message;
    EXPECT_FALSE(r.error().message.empty());
  }
  return o;
}

TEST(WalFuzz, RandomDamageNeverCrashesAndIsReported) {
  TempDir dir;
  const std::string pristine = dir.sub("pristine");
  auto backend = make_pwrite_backend();
  uint64_t total = 0;
  {
    auto wal = Wal::open(WalOptions{pristine, kSmallFile, backend.get()});
    ASSERT_TRUE(wal.has_value());
    for (int i = 0; i < 12; ++i) {
      append_n(**wal, 1 + i * 3);
      ASSERT_TRUE((*wal)->commit().has_value());
    }
    total = (*wal)->durable_lsn();
  }
  ASSERT_GE(log_files(pristine).size(), 3u);
  std::mt19937_64 rng(20261124);
  const std::string work = dir.sub("work");
  int reported = 0;
  int intact = 0;
  for (int iter = 0; iter < 150; ++iter) {
    SCOPED_TRACE("iteration " + std::to_string(iter));
    fs::remove_all(work);
    fs::copy(pristine, work);
    const auto files = log_files(work);
    const std::string victim = files[rng() % files.size()];
    const uint64_t size = fs::file_size(victim);
    // Aim at the used part of the file most of the time (the rest is zeros).
    const auto recs = test::records_in(victim);
    const uint64_t used =
        recs.empty() ? 4096 + 64 : recs.back().offset + format::record_bytes(recs.back().length);
    switch (rng() % 4) {
      case 0:
      case 1: {  // flip 1..8 bytes
        const int n = 1 + static_cast<int>(rng() % 8);
        for (int i = 0; i < n; ++i) {
          const uint64_t off = (rng() % 8 == 0) ? rng() % 64 : rng() % used;
          test::flip(victim, off, static_cast<uint8_t>(1 + rng() % 255));
        }
        break;
      }
      case 2: {  // a stretch of garbage
        const uint64_t off = rng() % used;
        std::vector<uint8_t> junk(1 + rng() % 600);
        for (auto& b : junk) {
          b = static_cast<uint8_t>(rng());
        }
        if (off + junk.size() > size) {
          junk.resize(size - off);
        }
        test::poke(victim, off, junk);
        break;
      }
      default:  // truncation
        fs::resize_file(victim, rng() % used);
        break;
    }
    const Outcome strict = scan(work, ScanMode::kStrict);
    const Outcome salvage = scan(work, ScanMode::kSalvage);
    ASSERT_TRUE(salvage.ok || salvage.code != ErrorCode::kOk);
    if (strict.ok) {
      // Strict success: a gap-free prefix from LSN 1 (a torn tail may end it early).
      for (size_t i = 0; i < strict.lsns.size(); ++i) {
        ASSERT_EQ(strict.lsns[i], i + 1);
      }
      if (strict.lsns.size() < total) {
        EXPECT_TRUE(strict.report.torn_tail) << "records lost without a report";
      }
    } else {
      EXPECT_EQ(strict.code, ErrorCode::kCorruption);
    }
    if (salvage.ok) {
      for (size_t i = 1; i < salvage.lsns.size(); ++i) {
        ASSERT_LT(salvage.lsns[i - 1], salvage.lsns[i]);
      }
      if (salvage.lsns.size() < total) {
        EXPECT_TRUE(salvage.report.torn_tail || !salvage.report.problems.empty());
      }
    }
    // Wal::open agrees with the strict scan and repairs only a torn tail.
    WalOpenReport rep;
    auto wal = Wal::open(WalOptions{work, kSmallFile, backend.get()}, &rep);
    EXPECT_EQ(wal.has_value(), strict.ok) << (wal ? "" : wal.error().message);
    if (wal && strict.ok) {
      EXPECT_EQ(rep.last_lsn, strict.lsns.size());
      // After open, appends work and the log reads back cleanly.
      append_n(**wal, 3);
      ASSERT_TRUE((*wal)->commit().has_value());
      wal->reset();
      const Outcome after = scan(work, ScanMode::kStrict);
      ASSERT_TRUE(after.ok) << after.message << " (damaged " << victim << ", open report: torn "
                            << rep.torn_tail_truncated << " at " << rep.torn_tail_at << ")";
      EXPECT_EQ(after.lsns.size(), strict.lsns.size() + 3);
      EXPECT_FALSE(after.report.torn_tail);
    }
    (strict.ok && strict.lsns.size() == total) ? ++intact : ++reported;
  }
  std::printf("damaged logs: %d reported, %d unaffected (damage in unused bytes)\n", reported,
              intact);
  EXPECT_GT(reported, 100);
}

}  // namespace
}  // namespace lqs::durability
