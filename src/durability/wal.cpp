// Copyright lqs authors. The write-ahead log: appends, group commit, recovery scan, salvage.
//
// Invariants (one thread owns a Wal):
// - files_ lists the log files oldest first; fd_ is the newest, open for appends; every
//   record before durable_offset_ in it, and every record of older files, is durable.
// - parts_ holds the records appended since, one contiguous buffer per file they go to, in
//   order; parts_[0] starts at durable_offset_ of the newest file, or is a file to create.
// - A write (one write_sync of one part) ends with a record flagged kFlagWriteEnd; recovery
//   keeps a write only when that record is present (see FORMAT.md, crash table).
#include "durability/wal.hpp"

#include "common/crash_point.hpp"
#include "durability/crc32c.hpp"
#include "durability/wal_format.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace lqs::durability {

using format::FileHeader;
using format::RecordHeader;

namespace {

constexpr size_t kHeaderBytes = sizeof(RecordHeader);
constexpr size_t kWindow = 4u << 20;  // reader window: holds the largest record
static_assert(kWindow >= format::record_bytes(format::kMaxPayload));

// ---- checksums -----------------------------------------------------------------------------

uint32_t header_check(const RecordHeader& h) {
  return crc32c(0, reinterpret_cast<const char*>(&h) + 4, 24);
}

uint32_t record_check(const RecordHeader& h, const std::byte* payload) {
  const uint32_t c = crc32c(0, reinterpret_cast<const char*>(&h) + 4, kHeaderBytes - 4);
  return crc32c(c, payload, h.length);
}

uint32_t file_header_check(const FileHeader& h) {
  return crc32c(0, &h, offsetof(FileHeader, header_crc));
}

// Seals the record whose header is at `p` (payload follows): both checksums.
void seal(std::byte* p) {
  RecordHeader h{};
  std::memcpy(&h, p, kHeaderBytes);
  h.header_crc = header_check(h);
  h.crc = record_check(h, p + kHeaderBytes);
  std::memcpy(p, &h, kHeaderBytes);
}

// Sets or clears kFlagWriteEnd on the record at `p` and seals it again.
void set_write_end(std::byte* p, bool on) {
  RecordHeader h{};
  std::memcpy(&h, p, kHeaderBytes);
  h.flags = static_cast<uint16_t>(on ? (h.flags | format::kFlagWriteEnd)
                                     : (h.flags & ~format::kFlagWriteEnd));
  std::memcpy(p, &h, kHeaderBytes);
  seal(p);
}

bool all_zero(const std::byte* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != std::byte{0}) {
      return false;
    }
  }
  return true;
}

std::string hex16(uint64_t v) {
  char buf[17];
  (void)std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

[[noreturn]] void die(const char* what) {
  (void)std::fprintf(stderr, "lqs wal: %s\n", what);
  std::abort();
}

// ---- reading files -------------------------------------------------------------------------

// pread through a window; a view stays valid until the next get().
class FileReader {
 public:
  FileReader(int fd, uint64_t size) : fd_(fd), size_(size) {}
  [[nodiscard]] uint64_t size() const { return size_; }
  // REQUIRES: off + n <= size(), n <= kWindow.
  [[nodiscard]] Result<const std::byte*> get(uint64_t off, size_t n) {
    if (off >= buf_off_ && off + n <= buf_off_ + buf_len_) {
      return buf_.data() + (off - buf_off_);
    }
    if (buf_.size() < kWindow) {
      buf_.resize(kWindow);
    }
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kWindow, size_ - off));
    size_t got = 0;
    while (got < want) {
      const ssize_t r = ::pread(fd_, buf_.data() + got, want - got, static_cast<off_t>(off + got));
      if (r < 0) {
        if (errno == EINTR) {
          continue;
        }
        buf_len_ = 0;
        return detail::sys_error("pread", errno);
      }
      if (r == 0) {
        buf_len_ = 0;
        return make_error(ErrorCode::kCorruption, "file shrank while being read");
      }
      got += static_cast<size_t>(r);
    }
    buf_off_ = off;
    buf_len_ = got;
    return buf_.data();
  }
  // End of the last non-zero byte in [from, size()), or `from` when all are zero.
  Result<uint64_t> nonzero_end(uint64_t from) {
    uint64_t end = from;
    for (uint64_t off = from; off < size_;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kWindow, size_ - off));
      auto p = get(off, n);
      if (!p) {
        return std::move(p).error();
      }
      for (size_t i = n; i > 0; --i) {
        if ((*p)[i - 1] != std::byte{0}) {
          end = off + i;
          break;
        }
      }
      off += n;
    }
    return end;
  }

 private:
  int fd_;
  uint64_t size_;
  std::vector<std::byte> buf_;
  uint64_t buf_off_ = 0;
  size_t buf_len_ = 0;
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

// The value of 16 lower-case hex digits, or nullopt.
std::optional<uint64_t> parse_hex16(std::string_view s) {
  if (s.size() != 16) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (const char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

struct Listed {
  uint64_t first_lsn = 0;
  std::string name;
  std::string path;
};

// The files of `dir` named `prefix` + 16 hex digits (an LSN) + `suffix`, in LSN order. A
// missing directory has none.
Result<std::vector<Listed>> list_named(const std::string& dir, std::string_view prefix,
                                       std::string_view suffix) {
  std::vector<Listed> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) {
      return out;
    }
    return detail::sys_error("opendir " + dir, errno);
  }
  while (const struct dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe): own DIR*
    const std::string_view n(e->d_name);
    if (n.size() != prefix.size() + 16 + suffix.size() || !n.starts_with(prefix) ||
        !n.ends_with(suffix)) {
      continue;
    }
    if (auto lsn = parse_hex16(n.substr(prefix.size(), 16))) {
      out.push_back(Listed{*lsn, std::string(n), dir + "/" + std::string(n)});
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const Listed& a, const Listed& b) { return a.first_lsn < b.first_lsn; });
  return out;
}

// The log files (wal-<LSN>.log), and the released files kept for reuse (wal.free-<the first
// LSN each had as a log file>), oldest first.
Result<std::vector<Listed>> list_files(const std::string& dir) {
  return list_named(dir, "wal-", ".log");
}
Result<std::vector<Listed>> list_free_files(const std::string& dir) {
  return list_named(dir, Wal::kFreePrefix, "");
}

// Zeros for writes (end-of-data headers, header blocks, torn tails), never written to.
constexpr std::array<std::byte, size_t{1} << 16> kZeros{};
static_assert(kZeros.size() >= format::kFirstRecordOffset + kHeaderBytes);
// `n` <= kZeros.size() bytes of kZeros, as write_sync takes them.
struct iovec zeros_iov(size_t n) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): iovec is not const-correct
  return iovec{const_cast<std::byte*>(kZeros.data()), n};
}

Error corruption(const std::string& where, uint64_t off, const std::string& what) {
  return make_error(ErrorCode::kCorruption, where + ":" + std::to_string(off) + ": " + what);
}

// Why the record at `off` is not valid (empty when it is). `h` is its header.
Result<std::string> check_record(FileReader& r, uint64_t off, uint64_t expected_lsn,
                                 RecordHeader* h, const std::byte** payload) {
  auto p = r.get(off, kHeaderBytes);
  if (!p) {
    return std::move(p).error();
  }
  std::memcpy(h, *p, kHeaderBytes);
  if (h->header_crc != header_check(*h)) {
    return std::string("record header checksum mismatch");
  }
  if (h->length > format::kMaxPayload) {
    return "record length " + std::to_string(h->length) + " exceeds the limit";
  }
  if (off + format::record_bytes(h->length) > r.size()) {
    return "record of " + std::to_string(h->length) + " bytes overruns the file end";
  }
  if ((h->flags & ~format::kFlagWriteEnd) != 0 || h->reserved != 0) {
    return std::string("record has unknown flags");
  }
  auto q = r.get(off, kHeaderBytes + h->length);
  if (!q) {
    return std::move(q).error();
  }
  *payload = *q + kHeaderBytes;
  if (h->crc != record_check(*h, *payload)) {
    return std::string("record checksum mismatch");
  }
  if (expected_lsn != 0 && h->lsn != expected_lsn) {
    return "record LSN " + std::to_string(h->lsn) + " where " + std::to_string(expected_lsn) +
           " was expected";
  }
  return std::string();
}

// From `from` on: the first valid record with LSN >= expected (a *live* record: one that can
// belong to this file after `expected - 1`; stale records of a recycled file have smaller
// LSNs), and whether any valid record follows that belongs to a later write than the one
// holding `expected` (then that write was acknowledged and the damage is not a torn tail).
struct Resync {
  std::optional<uint64_t> off;
  uint64_t lsn = 0;
  bool later_write = false;
};

// A header that may start a live record: LSN in [expected, expected + records the file can
// hold) — which rejects stale records and nearly all garbage before any checksum — and a
// valid header checksum.
bool plausible_header(const RecordHeader& h, uint64_t expected, uint64_t file_size) {
  return h.lsn >= expected && h.lsn - expected < file_size / kHeaderBytes &&
         h.header_crc == header_check(h);
}

Result<Resync> find_live(FileReader& r, uint64_t from, uint64_t expected, bool need_later) {
  Resync out;
  uint64_t off = from;
  while (off + kHeaderBytes <= r.size()) {
    auto p = r.get(off, kHeaderBytes);
    if (!p) {
      return std::move(p).error();
    }
    RecordHeader h{};
    std::memcpy(&h, *p, kHeaderBytes);
    if (!plausible_header(h, expected, r.size())) {
      off += format::kRecordAlign;
      continue;
    }
    const std::byte* payload = nullptr;
    auto why = check_record(r, off, 0, &h, &payload);
    if (!why) {
      return std::move(why).error();
    }
    if (!why->empty()) {
      off += format::kRecordAlign;
      continue;
    }
    if (!out.off) {
      out.off = off;
      out.lsn = h.lsn;
    }
    if (h.lsn - h.batch_index > expected) {
      out.later_write = true;
    }
    if (!need_later || out.later_write) {
      break;
    }
    off += format::record_bytes(h.length);
  }
  return out;
}

// After a bad stretch at `bad`.
Result<Resync> resync(FileReader& r, uint64_t bad, uint64_t expected, bool need_later) {
  return find_live(r, bad + format::kRecordAlign, expected, need_later);
}

// The end of the last header that could start a record with LSN >= min_lsn in [from, size)
// (its payload unchecked), and at least from + one header: what a torn tail of a recycled file
// zeroes, so that no record of the dropped write is left to mix with the writes that follow.
Result<uint64_t> live_end(FileReader& r, uint64_t from, uint64_t min_lsn) {
  uint64_t end = std::min(r.size(), from + kHeaderBytes);
  for (uint64_t off = from; off + kHeaderBytes <= r.size(); off += format::kRecordAlign) {
    auto p = r.get(off, kHeaderBytes);
    if (!p) {
      return std::move(p).error();
    }
    RecordHeader h{};
    std::memcpy(&h, *p, kHeaderBytes);
    if (plausible_header(h, min_lsn, r.size()) && h.length <= format::kMaxPayload) {
      end = std::max(end, std::min(r.size(), off + format::record_bytes(h.length)));
    }
  }
  return end;
}

// ---- one file ------------------------------------------------------------------------------

enum class HeaderState { kOk, kIncomplete, kBad };

struct HeaderCheck {
  HeaderState state = HeaderState::kOk;
  FileHeader header{};
  std::string what;
};

// A file whose header is missing, damaged or an earlier file's, and that holds no record of
// its own after it, is a roll that a crash interrupted (kIncomplete; only acceptable as the
// newest file).
Result<HeaderCheck> check_header(FileReader& r, uint64_t name_lsn) {
  HeaderCheck hc;
  if (r.size() > format::kMaxFileBytes) {
    hc.state = HeaderState::kBad;
    hc.what = "file larger than " + std::to_string(format::kMaxFileBytes) + " bytes";
    return hc;
  }
  bool damaged = false;
  if (r.size() < format::kFirstRecordOffset) {
    damaged = true;
    hc.what = "file shorter than its header block";
  } else {
    auto p = r.get(0, sizeof(FileHeader));
    if (!p) {
      return std::move(p).error();
    }
    std::memcpy(&hc.header, *p, sizeof(FileHeader));
    const FileHeader& h = hc.header;
    if (h.magic != format::kFileMagic) {
      damaged = true;
      hc.what = "bad file magic";
    } else if (h.header_crc != file_header_check(h)) {
      damaged = true;
      hc.what = "file header checksum mismatch";
    } else if (h.version < format::kMinFormatVersion || h.version > format::kFormatVersion ||
               h.header_size != sizeof(FileHeader)) {
      hc.state = HeaderState::kBad;
      hc.what = "unsupported WAL format version " + std::to_string(h.version);
      return hc;
    } else if ((h.flags & ~format::kFileRecycled) != 0 || (h.version < 2 && h.flags != 0) ||
               h.reserved[0] != 0 || h.reserved[1] != 0) {
      hc.state = HeaderState::kBad;
      hc.what = "file header has unknown flags";
      return hc;
    } else if (h.first_lsn < name_lsn) {
      // A released file recycled under a new name whose new header was never written.
      damaged = true;
      hc.what = "header of an earlier file (first LSN " + std::to_string(h.first_lsn) + ")";
    } else if (h.first_lsn != name_lsn) {
      hc.state = HeaderState::kBad;
      hc.what = "header first LSN " + std::to_string(h.first_lsn) + " does not match the name";
      return hc;
    }
  }
  if (!damaged) {
    return hc;
  }
  // Incomplete when nothing after the header block can be a record of this file: all zeros
  // (a zero-filled file), or only stale records of the file it was recycled from (LSNs below
  // the name's).
  const uint64_t data_from = std::min<uint64_t>(r.size(), format::kFirstRecordOffset);
  auto nz = r.nonzero_end(data_from);
  if (!nz) {
    return std::move(nz).error();
  }
  if (*nz == data_from) {
    hc.state = HeaderState::kIncomplete;
    return hc;
  }
  auto live = find_live(r, data_from, name_lsn, false);
  if (!live) {
    return std::move(live).error();
  }
  hc.state = live->off ? HeaderState::kBad : HeaderState::kIncomplete;
  return hc;
}

using Visit = std::function<bool(uint64_t, uint16_t, std::span<const std::byte>)>;

struct FileScanIn {
  const std::string* name;
  uint64_t first_lsn;
  bool is_last;       // torn-tail rules apply
  uint64_t limit;     // records at or after this offset are not read (the torn tail)
  uint64_t from_lsn;  // visit records with lsn >= from_lsn
  ScanMode mode;
  const Visit* visit;     // may be null
  bool recycled = false;  // kFileRecycled: stale bytes (records with LSN < first_lsn) follow
                          // the data, which ends at a zero record header
};

struct FileScanOut {
  uint64_t records = 0;   // valid records passed to visit (or counted, without visit)
  uint64_t last_lsn = 0;  // last good LSN (first_lsn - 1 when none)
  uint64_t end = 0;       // where appends go: after the last complete write
  bool torn = false;      // [end, zero_to) is a torn tail
  uint64_t zero_to = 0;
  bool stopped = false;  // visit returned false
};

// A torn tail inside a write: its leading records were read (and counted when there is no
// visitor; with one, the caller limited the scan so they were never visited) but are dropped.
void drop_open_write(const FileScanIn& in, bool write_ended, uint64_t write_start_lsn,
                     uint64_t expected, FileScanOut* out) {
  if (write_ended) {
    return;
  }
  if (in.visit == nullptr) {
    out->records -= expected - write_start_lsn;
  }
  out->last_lsn = write_start_lsn - 1;
}

// Reads the records of one file (its header already checked). Strict: damage that is not a
// torn tail of the newest file is kCorruption. Salvage: it is listed and skipped.
Result<FileScanOut> scan_records(FileReader& r, const FileScanIn& in,
                                 std::vector<std::string>* problems) {
  FileScanOut out;
  out.last_lsn = in.first_lsn - 1;
  uint64_t off = format::kFirstRecordOffset;
  uint64_t expected = in.first_lsn;
  uint64_t write_start = off;  // offset of the first record of the current write
  uint64_t write_start_lsn = expected;
  bool write_ended = true;  // the last good record closed its write
  while (off < in.limit) {
    std::string why;
    RecordHeader h{};
    const std::byte* payload = nullptr;
    if (off + kHeaderBytes > r.size()) {
      if (in.recycled) {
        break;  // too short for a record: stale bytes, if any
      }
      auto nz = r.nonzero_end(off);
      if (!nz) {
        return std::move(nz).error();
      }
      if (*nz == off) {
        break;
      }
      why = "non-zero bytes after the end of data";
    } else {
      auto p = r.get(off, kHeaderBytes);
      if (!p) {
        return std::move(p).error();
      }
      if (all_zero(*p, kHeaderBytes) && in.recycled) {
        // Stale bytes follow the end of data; only a live record after it is damage.
        auto live = resync(r, off, expected, false);
        if (!live) {
          return std::move(live).error();
        }
        if (!live->off) {
          break;  // the clean end of data
        }
        why = "a valid record (LSN " + std::to_string(live->lsn) +
              ") follows a zero record header (end of data)";
      } else if (all_zero(*p, kHeaderBytes)) {
        auto nz = r.nonzero_end(off);
        if (!nz) {
          return std::move(nz).error();
        }
        if (*nz == off) {
          break;  // the clean end of data
        }
        why = "non-zero bytes after a zero record header (end of data)";
      } else {
        auto w = check_record(r, off, expected, &h, &payload);
        if (!w) {
          return std::move(w).error();
        }
        why = std::move(*w);
      }
    }
    if (why.empty()) {
      if (h.batch_index == 0) {
        write_start = off;
        write_start_lsn = h.lsn;
      }
      write_ended = (h.flags & format::kFlagWriteEnd) != 0;
      out.last_lsn = h.lsn;
      if (in.visit != nullptr && h.lsn >= in.from_lsn && !out.stopped) {
        ++out.records;
        if (!(*in.visit)(h.lsn, h.type, std::span(payload, h.length))) {
          out.stopped = true;
          out.end = off + format::record_bytes(h.length);
          return out;
        }
      } else if (in.visit == nullptr) {
        ++out.records;
      }
      ++expected;
      off += format::record_bytes(h.length);
      continue;
    }
    // A bad stretch at `off`.
    if (!in.is_last && in.mode == ScanMode::kStrict) {
      return corruption(*in.name, off, why + " (expected LSN " + std::to_string(expected) + ")");
    }
    auto rs = resync(r, off, expected, in.is_last);
    if (!rs) {
      return std::move(rs).error();
    }
    if (in.is_last && !rs->later_write) {
      // Torn tail: the write holding `expected` never completed; drop all of it.
      out.torn = true;
      out.end = write_ended ? off : write_start;
      auto nz = in.recycled ? live_end(r, out.end, write_ended ? expected : write_start_lsn)
                            : r.nonzero_end(out.end);
      if (!nz) {
        return std::move(nz).error();
      }
      out.zero_to = *nz;
      drop_open_write(in, write_ended, write_start_lsn, expected, &out);
      return out;
    }
    std::string msg = why + " (expected LSN " + std::to_string(expected) + ")";
    if (rs->off) {
      msg += "; valid records resume at offset " + std::to_string(*rs->off) + " (LSN " +
             std::to_string(rs->lsn) + ")";
    } else {
      msg += "; nothing valid follows in this file";
    }
    if (in.mode == ScanMode::kStrict) {
      return corruption(*in.name, off, msg);
    }
    problems->push_back(*in.name + ":" + std::to_string(off) + ": " + msg);
    if (!rs->off) {
      out.end = off;
      return out;
    }
    off = *rs->off;
    expected = rs->lsn;
    write_ended = true;
    write_start = off;
    write_start_lsn = expected;
  }
  out.end = off;
  if (in.is_last && !write_ended && off < in.limit) {
    // Clean zeros after a record that did not close its write: the write was torn exactly
    // at a record boundary.
    out.torn = true;
    out.end = write_start;
    out.zero_to = off;
    drop_open_write(in, write_ended, write_start_lsn, expected, &out);
  }
  return out;
}

}  // namespace

std::string wal_file_name(uint64_t first_lsn) { return "wal-" + hex16(first_lsn) + ".log"; }

// ---- the whole log -------------------------------------------------------------------------

struct Wal::Impl {
  struct FileState {
    Listed listed;
    uint64_t seq = 0;
    uint64_t size = 0;
    FileScanOut scan;
  };
  struct LogState {
    std::vector<FileState> files;
    std::vector<std::string> incomplete;  // newest file(s) whose creation was interrupted
    ScanReport report;
  };

  // Scans the log. `visit` null: validate and count every record (Wal::open).
  static Result<LogState> scan(const std::string& dir, uint64_t from_lsn, ScanMode mode,
                               const Visit* visit) {
    LogState st;
    auto listed = list_files(dir);
    if (!listed) {
      return std::move(listed).error();
    }
    std::vector<Listed>& all = *listed;
    size_t begin = 0;
    while (begin + 1 < all.size() && all[begin + 1].first_lsn <= from_lsn) {
      ++begin;
    }
    const FileState* prev = nullptr;  // st.files.back() once set (re-taken after each push)
    bool stopped = false;
    for (size_t i = begin; i < all.size() && !stopped; ++i) {
      const bool is_last = i + 1 == all.size();
      const int raw = ::open(all[i].path.c_str(), O_RDONLY | O_CLOEXEC);
      if (raw < 0) {
        return detail::sys_error("open " + all[i].path, errno);
      }
      Fd fd(raw);
      struct stat sb {};
      if (::fstat(fd.get(), &sb) != 0) {
        return detail::sys_error("fstat " + all[i].path, errno);
      }
      FileReader reader(fd.get(), static_cast<uint64_t>(sb.st_size));
      auto hc = check_header(reader, all[i].first_lsn);
      if (!hc) {
        return std::move(hc).error();
      }
      if (hc->state != HeaderState::kOk) {
        if (hc->state == HeaderState::kIncomplete && is_last) {
          st.incomplete.push_back(all[i].path);
          st.report.torn_tail = true;
          break;
        }
        if (mode == ScanMode::kStrict) {
          return corruption(all[i].name, 0, hc->what);
        }
        st.report.problems.push_back(all[i].name + ":0: " + hc->what + "; file skipped");
        continue;
      }
      FileState fs;
      fs.listed = all[i];
      fs.seq = hc->header.file_seq;
      fs.size = reader.size();
      if (prev != nullptr) {
        std::string gap;
        if (fs.seq != prev->seq + 1) {
          gap = "file sequence " + std::to_string(fs.seq) + " follows " +
                std::to_string(prev->seq) + " (a log file is missing)";
        } else if (fs.listed.first_lsn != prev->scan.last_lsn + 1) {
          gap = "first LSN " + std::to_string(fs.listed.first_lsn) +
                " does not follow the previous file's last LSN " +
                std::to_string(prev->scan.last_lsn);
        }
        if (!gap.empty()) {
          if (mode == ScanMode::kStrict) {
            return corruption(fs.listed.name, 0, gap);
          }
          st.report.problems.push_back(fs.listed.name + ":0: " + gap);
        }
      }
      FileScanIn in{
          &fs.listed.name, fs.listed.first_lsn, is_last, reader.size(), from_lsn, mode, visit};
      in.recycled = (hc->header.flags & format::kFileRecycled) != 0;
      if (is_last && visit != nullptr) {
        // First find the torn tail, so that records of an incomplete write are never visited.
        FileScanIn probe = in;
        probe.visit = nullptr;
        std::vector<std::string> ignored;
        auto pre = scan_records(reader, probe, &ignored);
        if (!pre) {
          return std::move(pre).error();
        }
        if (pre->torn) {
          in.limit = pre->end;
        }
        auto res = scan_records(reader, in, &st.report.problems);
        if (!res) {
          return std::move(res).error();
        }
        res->torn = pre->torn;
        res->zero_to = pre->zero_to;
        if (pre->torn) {
          res->end = pre->end;
        }
        fs.scan = *res;
      } else {
        auto res = scan_records(reader, in, &st.report.problems);
        if (!res) {
          return std::move(res).error();
        }
        fs.scan = *res;
      }
      if (fs.scan.torn) {
        st.report.torn_tail = true;
      }
      stopped = fs.scan.stopped;
      st.report.records += fs.scan.records;
      st.files.push_back(std::move(fs));
      prev = &st.files.back();
    }
    if (!st.files.empty()) {
      st.report.last_lsn = st.files.back().scan.last_lsn;
    }
    return st;
  }
};

Result<ScanReport> scan_wal(const std::string& dir, uint64_t from_lsn, ScanMode mode,
                            const Visit& visit) {
  auto st = Wal::Impl::scan(dir, from_lsn, mode, &visit);
  if (!st) {
    return std::move(st).error();
  }
  return std::move(st->report);
}

// ---- Wal -----------------------------------------------------------------------------------

Result<std::unique_ptr<Wal>> Wal::open(const WalOptions& options, WalOpenReport* report) {
  if (options.backend == nullptr || options.dir.empty()) {
    return make_error(ErrorCode::kInvalidParameterValue, "WalOptions: dir and backend required");
  }
  if (options.file_bytes < 2 * format::kFirstRecordOffset ||
      options.file_bytes > format::kMaxFileBytes) {
    return make_error(ErrorCode::kInvalidParameterValue,
                      "WalOptions: file_bytes must be within [8 KiB, 4 GiB]");
  }
  if (::mkdir(options.dir.c_str(), 0750) != 0 && errno != EEXIST) {
    return detail::sys_error("mkdir " + options.dir, errno);
  }
  // A spare whose preparation a crash interrupted (a complete one, wal.spare, is kept).
  const std::string stale_spare = options.dir + "/" + kSpareName + ".tmp";
  if (::unlink(stale_spare.c_str()) != 0 && errno != ENOENT) {
    return detail::sys_error("unlink " + stale_spare, errno);
  }
  auto st = Impl::scan(options.dir, 0, ScanMode::kStrict, nullptr);
  if (!st) {
    return std::move(st).error();
  }
  std::unique_ptr<Wal> wal(new Wal(options));
  WalOpenReport rep;
  // A roll that a crash interrupted: the file holds no record; remove it.
  for (const auto& path : st->incomplete) {
    if (::unlink(path.c_str()) != 0) {
      return detail::sys_error("unlink " + path, errno);
    }
    rep.removed_incomplete.push_back(path.substr(path.find_last_of('/') + 1));
  }
  if (!st->incomplete.empty()) {
    if (auto d = detail::fsync_dir(options.dir); !d) {
      return std::move(d).error();
    }
  }
  for (const auto& f : st->files) {
    wal->files_.push_back(FileInfo{f.listed.first_lsn, f.seq, f.size, f.listed.path});
  }
  // Released files kept for reuse. A reused file's stale records must all have LSNs below any
  // LSN the log will write, which holds for files released before the oldest one in the log;
  // any other (the log files were removed by hand, say, and LSNs start over) is removed.
  // At most max_free_files are kept (the newest; the option may have been lowered).
  auto found = list_free_files(options.dir);
  if (!found) {
    return std::move(found).error();
  }
  const size_t keep_from =
      found->size() > options.max_free_files ? found->size() - options.max_free_files : 0;
  for (size_t i = 0; i < found->size(); ++i) {
    Listed& f = (*found)[i];
    if (i >= keep_from && !wal->files_.empty() && f.first_lsn < wal->files_.front().first_lsn) {
      wal->free_.push_back(std::move(f.path));
    } else if (::unlink(f.path.c_str()) != 0 && errno != ENOENT) {
      return detail::sys_error("unlink " + f.path, errno);
    }
  }
  if (!st->files.empty()) {
    const auto& last = st->files.back();
    auto fd = options.backend->open_file(last.listed.path, last.size, false);
    if (!fd) {
      return std::move(fd).error();
    }
    wal->fd_ = *fd;
    if (last.scan.torn) {
      // Zero the torn tail durably before anything is appended after it.
      uint64_t off = last.scan.end;
      while (off < last.scan.zero_to) {
        std::vector<struct iovec> iov;
        uint64_t chunk_end = std::min<uint64_t>(last.scan.zero_to, off + (16u << 20));
        for (uint64_t o = off; o < chunk_end; o += kZeros.size()) {
          iov.push_back(
              zeros_iov(static_cast<size_t>(std::min<uint64_t>(kZeros.size(), chunk_end - o))));
        }
        if (auto w = options.backend->write_sync(wal->fd_, off, iov); !w) {
          return std::move(w).error();
        }
        off = chunk_end;
      }
      rep.torn_tail_truncated = true;
      rep.torn_tail_at = last.listed.name + ":" + std::to_string(last.scan.end);
    }
    wal->durable_offset_ = last.scan.end;
    wal->durable_lsn_ = last.scan.last_lsn;
    wal->next_lsn_ = last.scan.last_lsn + 1;
  }
  rep.files = wal->files_.size();
  rep.records = st->report.records;
  rep.last_lsn = wal->durable_lsn_;
  if (report != nullptr) {
    *report = std::move(rep);
  }
  return wal;
}

Wal::~Wal() {
  if (fd_ >= 0) {
    options_.backend->close_file(fd_);
  }
}

uint64_t Wal::pending_bytes() const {
  uint64_t n = 0;
  for (const auto& p : parts_) {
    n += p.buf.size();
  }
  return n;
}

uint64_t Wal::append(uint16_t type, std::span<const std::byte> payload) {
  std::byte* at = append_begin(type, payload.size());
  if (!payload.empty()) {
    std::memcpy(at, payload.data(), payload.size());
  }
  return append_end();
}

std::byte* Wal::append_begin(uint16_t type, size_t size) {
  if (size > format::kMaxPayload) {
    die("append: payload larger than format::kMaxPayload");
  }
  const uint64_t rec = format::record_bytes(size);
  // Where the record goes: after the pending records, or after the durable ones.
  bool fits = false;
  if (!parts_.empty()) {
    const Part& p = parts_.back();
    fits = p.offset + p.buf.size() + rec <= p.file_size;
  } else if (!files_.empty()) {
    fits = durable_offset_ + rec <= files_.back().size;
  }
  if (!fits || parts_.empty()) {
    Part part;
    if (fits) {  // the newest file, after its durable records
      part.new_file = false;
      part.file_size = files_.back().size;
      part.offset = durable_offset_;
    } else {
      part.new_file = true;
      part.file_size = std::max(options_.file_bytes, format::kFirstRecordOffset + rec);
      part.offset = format::kFirstRecordOffset;
    }
    part.first_lsn = next_lsn_;
    part.buf = std::move(spare_);
    part.buf.clear();
    spare_ = {};
    parts_.push_back(std::move(part));
  }
  Part& p = parts_.back();
  const size_t at = p.buf.size();
  p.buf.resize(at + rec);  // zero-fills the padding
  RecordHeader h{};
  h.length = static_cast<uint32_t>(size);
  h.lsn = next_lsn_;
  h.type = type;
  h.batch_index = p.records;
  std::memcpy(p.buf.data() + at, &h, kHeaderBytes);
  open_at_ = at;
  return p.buf.data() + at + kHeaderBytes;
}

uint64_t Wal::append_end() {
  Part& p = parts_.back();
  const size_t at = open_at_;
  seal(p.buf.data() + at);  // sealed again by commit() if it becomes a write's last record
  p.last_record_at = at;
  p.last_lsn = next_lsn_;
  ++p.records;
  return next_lsn_++;
}

Result<void> Wal::create_file(const Part& part) {
  const std::string path = options_.dir + "/" + wal_file_name(part.first_lsn);
  uint64_t seq = files_.empty() ? 0 : files_.back().seq + 1;
  if (!files_.empty() && files_.back().first_lsn == part.first_lsn) {
    // The newest file holds no record and is too small for this one (a file truncated by
    // damage and repaired): it is replaced by a larger file of the same name and sequence.
    if (fd_ >= 0) {
      options_.backend->close_file(fd_);
      fd_ = -1;
    }
    seq = files_.back().seq;
    files_.pop_back();
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return detail::sys_error("unlink " + path, errno);
    }
  }
  auto taken = take_spare(path, part.file_size);
  if (!taken) {
    return std::move(taken).error();
  }
  Result<int> fd = taken->fd;
  if (taken->fd < 0) {
    fd = options_.backend->open_file(path, part.file_size, true);
    if (!fd) {
      return std::move(fd).error();
    }
  }
  FileHeader h{};
  h.magic = format::kFileMagic;
  h.version = format::kFormatVersion;
  h.header_size = sizeof(FileHeader);
  h.file_seq = seq;
  h.first_lsn = part.first_lsn;
  h.file_bytes = part.file_size;
  h.created_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  h.flags = taken->recycled ? format::kFileRecycled : 0;
  h.header_crc = file_header_check(h);
  // A recycled file gets its whole header block and a zero record header at the first record
  // offset (end of data), over the stale bytes there; a zero-filled one only the header.
  struct iovec v[2] = {{&h, sizeof h},
                       zeros_iov(format::kFirstRecordOffset + kHeaderBytes - sizeof h)};
  const size_t nv = taken->recycled ? 2 : 1;
  if (auto w = options_.backend->write_sync(*fd, 0, std::span(v, nv)); !w) {
    options_.backend->close_file(*fd);
    ::unlink(path.c_str());  // best effort; Wal::open removes it otherwise (no header)
    return std::move(w).error();
  }
  LQS_CRASH_POINT("wal.after_file_header");
  if (fd_ >= 0) {
    options_.backend->close_file(fd_);
  }
  fd_ = *fd;
  files_.push_back(FileInfo{part.first_lsn, h.file_seq, part.file_size, path});
  durable_offset_ = format::kFirstRecordOffset;
  ++stats_.files_created;
  return {};
}

Result<Wal::Taken> Wal::take_spare(const std::string& path, uint64_t size) {
  Taken t;
  // A released file first (no zero-fill was spent on it), then the prepared spare.
  while (!free_.empty()) {
    const std::string f = free_.front();
    free_.erase(free_.begin());
    struct stat sb {};
    if (::stat(f.c_str(), &sb) != 0) {
      continue;
    }
    if (static_cast<uint64_t>(sb.st_size) != size) {
      ::unlink(f.c_str());  // of another file size: not reusable
      continue;
    }
    if (::rename(f.c_str(), path.c_str()) == 0) {
      t.recycled = true;
      break;
    }
  }
  if (!t.recycled) {
    const std::string spare = options_.dir + "/" + kSpareName;
    struct stat sb {};
    if (::stat(spare.c_str(), &sb) != 0 || static_cast<uint64_t>(sb.st_size) != size) {
      return t;
    }
    if (::rename(spare.c_str(), path.c_str()) != 0) {
      return t;  // raced with nothing we know of; create the file the slow way
    }
  }
  // A crash from here to the header write leaves a newest file without its header (zeros, or
  // a recycled file's old header) and no record of its own: open() removes it.
  if (auto d = detail::fsync_dir(options_.dir); !d) {
    return std::move(d).error();
  }
  auto fd = options_.backend->open_file(path, size, false);
  if (!fd) {
    return std::move(fd).error();
  }
  t.fd = *fd;
  ++(t.recycled ? stats_.recycled_used : stats_.spares_used);
  return t;
}

Result<void> Wal::prepare_spare(const std::string& dir, uint64_t file_bytes) {
  const std::string spare = dir + "/" + kSpareName;
  struct stat sb {};
  if (::stat(spare.c_str(), &sb) == 0) {
    return {};
  }
  auto free = list_free_files(dir);
  if (!free) {
    return std::move(free).error();
  }
  if (!free->empty()) {
    return {};
  }
  const std::string tmp = spare + ".tmp";
  auto fd = detail::open_preallocated(tmp, file_bytes, true);  // zero-filled, fsynced
  if (!fd) {
    return std::move(fd).error();
  }
  ::close(*fd);
  if (::rename(tmp.c_str(), spare.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return detail::sys_error("rename " + tmp, err);
  }
  return detail::fsync_dir(dir);
}

Result<uint64_t> Wal::commit() {
  while (!parts_.empty()) {
    Part& p = parts_.front();
    if (p.new_file) {
      if (auto c = create_file(p); !c) {
        return std::move(c).error();
      }
      p.new_file = false;
    }
    // Mark the write's last record (and unmark the one a failed commit marked).
    if (p.sealed_end_at != p.last_record_at) {
      if (p.sealed_end_at != Part::kNone) {
        set_write_end(p.buf.data() + p.sealed_end_at, false);
      }
      set_write_end(p.buf.data() + p.last_record_at, true);
      p.sealed_end_at = p.last_record_at;
    }
    // The write ends with a zero record header when it fits (the next write starts over it):
    // the end of data, also in a recycled file whose stale bytes follow.
    struct iovec v[2] = {{p.buf.data(), p.buf.size()}, zeros_iov(kHeaderBytes)};
    const size_t nv = p.offset + p.buf.size() + kHeaderBytes <= p.file_size ? 2 : 1;
    LQS_CRASH_POINT("wal.before_write");
    if (auto w = options_.backend->write_sync(fd_, p.offset, std::span(v, nv)); !w) {
      return std::move(w).error();
    }
    LQS_CRASH_POINT("wal.after_write");
    ++stats_.syncs;
    stats_.bytes_written += p.buf.size();
    durable_offset_ = p.offset + p.buf.size();
    durable_lsn_ = p.last_lsn;
    spare_ = std::move(p.buf);
    parts_.erase(parts_.begin());
  }
  return durable_lsn_;
}

Result<void> Wal::release_before(uint64_t lsn) {
  size_t removed = 0;
  while (removed + 1 < files_.size() && files_[removed + 1].first_lsn <= lsn) {
    const FileInfo& f = files_[removed];
    bool recycled = false;
    if (f.size == options_.file_bytes && free_.size() < options_.max_free_files) {
      // Kept for reuse: out of the log (not a wal-*.log name) as if unlinked.
      const std::string to = options_.dir + "/" + kFreePrefix + hex16(f.first_lsn);
      if (::rename(f.path.c_str(), to.c_str()) == 0) {
        free_.push_back(to);
        recycled = true;
        ++stats_.files_recycled;
      }
    }
    if (!recycled && ::unlink(f.path.c_str()) != 0 && errno != ENOENT) {
      const int err = errno;
      const std::string path = f.path;
      files_.erase(files_.begin(), files_.begin() + static_cast<std::ptrdiff_t>(removed));
      return detail::sys_error("unlink " + path, err);
    }
    LQS_CRASH_POINT("wal.after_unlink");
    ++removed;
    ++stats_.files_removed;
  }
  if (removed == 0) {
    return {};
  }
  files_.erase(files_.begin(), files_.begin() + static_cast<std::ptrdiff_t>(removed));
  return detail::fsync_dir(options_.dir);
}

}  // namespace lqs::durability
