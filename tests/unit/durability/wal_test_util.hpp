// Copyright lqs authors. Helpers of the WAL tests: temp dirs on a real file system, record
// payloads that identify their LSN, reading a whole log back, poking bytes in files.
#ifndef LQS_TESTS_UNIT_DURABILITY_WAL_TEST_UTIL_HPP_
#define LQS_TESTS_UNIT_DURABILITY_WAL_TEST_UTIL_HPP_

#include "durability/wal.hpp"
#include "durability/wal_format.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace lqs::durability::test {

namespace fs = std::filesystem;

/// Log files this small make every test roll over several files.
inline constexpr uint64_t kSmallFile = 16ull * 1024;

/// A fresh directory under /var/tmp (a real disk, so fdatasync and io_uring are exercised
/// as in production), removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info != nullptr ? std::string(info->test_suite_name()) + "." + info->name()
                                       : std::string("wal");
    for (char& c : name) {
      if (c == '/') {
        c = '_';
      }
    }
    path_ = "/var/tmp/lqs-test-" + std::to_string(::getpid()) + "-" + name;
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& s) const { return path_ + "/" + s; }

 private:
  std::string path_;
};

/// A payload of `n` bytes derived from `lsn`, so any record read back can be checked.
inline std::vector<std::byte> payload_for(uint64_t lsn, size_t n) {
  std::vector<std::byte> v(n);
  uint64_t x = lsn * 0x9E3779B97F4A7C15ull + n;
  for (size_t i = 0; i < n; ++i) {
    x ^= x >> 13;
    x *= 0xff51afd7ed558ccdull;
    v[i] = static_cast<std::byte>(x >> 56);
  }
  return v;
}

/// A deterministic size for the record with this LSN: mostly small, some of a few KiB.
inline size_t size_for(uint64_t lsn) {
  if (lsn % 17 == 0) {
    return 3000 + lsn % 1000;
  }
  return (lsn * 37) % 200;
}

inline uint16_t type_for(uint64_t lsn) { return static_cast<uint16_t>(lsn % 7 + 1); }

struct Rec {
  uint64_t lsn;
  uint16_t type;
  std::vector<std::byte> data;
};

/// Every record of the log from `from`, in order; fails the test when the scan fails.
inline std::vector<Rec> read_all(const std::string& dir, uint64_t from = 0,
                                 ScanMode mode = ScanMode::kStrict, ScanReport* report = nullptr) {
  std::vector<Rec> out;
  auto r =
      scan_wal(dir, from, mode, [&](uint64_t lsn, uint16_t type, std::span<const std::byte> p) {
        out.push_back(Rec{lsn, type, std::vector<std::byte>(p.begin(), p.end())});
        return true;
      });
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  if (r && report != nullptr) {
    *report = *r;
  }
  return out;
}

/// Checks that `recs` are exactly LSNs [first, last] with the payloads append_n wrote.
inline void expect_records(const std::vector<Rec>& recs, uint64_t first, uint64_t last) {
  ASSERT_EQ(recs.size(), last >= first ? last - first + 1 : 0);
  for (size_t i = 0; i < recs.size(); ++i) {
    const uint64_t lsn = first + i;
    ASSERT_EQ(recs[i].lsn, lsn);
    ASSERT_EQ(recs[i].type, type_for(lsn));
    ASSERT_EQ(recs[i].data, payload_for(lsn, size_for(lsn))) << "lsn " << lsn;
  }
}

/// Appends `n` records (payload_for / size_for / type_for of their LSN).
inline void append_n(Wal& wal, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t lsn = wal.next_lsn();
    const auto p = payload_for(lsn, size_for(lsn));
    ASSERT_EQ(wal.append(type_for(lsn), p), lsn);
  }
}

/// The log files of `dir`, oldest first.
inline std::vector<std::string> log_files(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto n = e.path().filename().string();
    if (n.rfind("wal-", 0) == 0 && n.size() == 24) {
      v.push_back(e.path().string());
    }
  }
  std::sort(v.begin(), v.end());
  return v;
}

struct RecordAt {
  uint64_t offset;
  uint64_t lsn;
  uint32_t length;
  uint16_t flags;
};

/// The records of one file as laid out (assumes it is intact).
inline std::vector<RecordAt> records_in(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<RecordAt> out;
  uint64_t off = format::kFirstRecordOffset;
  while (off + sizeof(format::RecordHeader) <= bytes.size()) {
    format::RecordHeader h;
    std::memcpy(&h, bytes.data() + off, sizeof h);
    if (h.lsn == 0) {
      break;
    }
    out.push_back(RecordAt{off, h.lsn, h.length, h.flags});
    off += format::record_bytes(h.length);
  }
  return out;
}

inline void poke(const std::string& path, uint64_t off, const std::vector<uint8_t>& bytes) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(off));
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good());
}

inline uint8_t peek(const std::string& path, uint64_t off) {
  std::ifstream f(path, std::ios::binary);
  f.seekg(static_cast<std::streamoff>(off));
  char c = 0;
  f.read(&c, 1);
  return static_cast<uint8_t>(c);
}

inline void flip(const std::string& path, uint64_t off, uint8_t mask = 0x5A) {
  poke(path, off, {static_cast<uint8_t>(peek(path, off) ^ mask)});
}

}  // namespace lqs::durability::test

#endif  // LQS_TESTS_UNIT_DURABILITY_WAL_TEST_UTIL_HPP_
