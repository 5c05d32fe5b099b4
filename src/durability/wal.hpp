// Copyright lqs authors. The write-ahead log: records appended by one thread, made durable
// by group commit, read back in LSN order after a crash. Format: wal_format.hpp, FORMAT.md.
//
// Thread safety: a Wal is used by one thread (lqsd's durability thread), like its IoBackend.
// scan_wal may run in any thread or process, but not on a directory a Wal is repairing
// (Wal::open) or releasing files from.
#ifndef LQS_DURABILITY_WAL_HPP_
#define LQS_DURABILITY_WAL_HPP_

#include "lqs/result.hpp"

#include "durability/io_backend.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace lqs::durability {

struct WalOptions {
  std::string dir;                    ///< created if missing (one level)
  uint64_t file_bytes = 64ull << 20;  ///< each log file is preallocated to this (>= 8 KiB);
                                      ///< a record never spans files: a record larger than a
                                      ///< file gets a file sized to hold it
  IoBackend* backend = nullptr;       ///< not owned; must outlive the Wal
  uint32_t max_free_files = 4;        ///< released files of file_bytes kept for reuse
                                      ///< (wal.free-*) instead of removed: a roll renames
                                      ///< one into place, so the log is not written twice
                                      ///< (zeros, then records); 0 removes them all
};

struct WalOpenReport {
  uint64_t files = 0;     ///< log files found (after removing incomplete ones)
  uint64_t records = 0;   ///< valid records in them
  uint64_t last_lsn = 0;  ///< 0 when the log holds no record
  bool torn_tail_truncated = false;
  std::string torn_tail_at;                     ///< "wal-....log:offset" of the zeroed tail
  std::vector<std::string> removed_incomplete;  ///< files of an interrupted roll, removed
};

class Wal {
 public:
  /// Opens (or creates) the log in options.dir: validates every record of every file, zeroes
  /// a torn tail of the last file (a bad record followed by nothing valid, or only by records
  /// of that same interrupted write), removes a last file whose creation was interrupted
  /// (header never written), and positions appends after the last good record.
  /// Errors: kCorruption (file and offset in the message) for damage anywhere else, which is
  /// never dropped silently; kInvalidParameterValue for bad options; kSystem / kNoSpace.
  static Result<std::unique_ptr<Wal>> open(const WalOptions& options,
                                           WalOpenReport* report = nullptr);
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  /// Buffers one record; nothing is written. Returns its LSN (consecutive from 1 across files
  /// and restarts). REQUIRES: payload.size() <= format::kMaxPayload (aborts otherwise: the
  /// caller bounds message sizes long before).
  uint64_t append(uint16_t type, std::span<const std::byte> payload);
  /// append() for a payload the caller writes in place: returns where its `size` bytes go
  /// (valid until the next call on this Wal), and append_end() seals the record and returns
  /// its LSN. Nothing else may be called on the Wal in between.
  std::byte* append_begin(uint16_t type, size_t size);
  uint64_t append_end();

  /// Group commit: writes every record appended so far with one write_sync per file touched
  /// (creating the next file first when the records roll over), with no delay. Returns the new
  /// durable LSN. On error the error is returned and nothing past the last fully synced file
  /// part is durable (when a commit spans two files and the second fails, the records in the
  /// first are durable and durable_lsn() says so); the pending records stay buffered and a
  /// later commit() rewrites them from the last durable offset.
  Result<uint64_t> commit();

  uint64_t durable_lsn() const { return durable_lsn_; }
  /// LSN the next append() returns.
  uint64_t next_lsn() const { return next_lsn_; }
  /// Bytes appended and not yet durable (record headers and padding included).
  uint64_t pending_bytes() const;

  /// Removes whole log files all of whose records have LSN < lsn (a checkpoint covers them),
  /// oldest first; never the newest file. A removed file of file_bytes is renamed to
  /// `wal.free-<its first LSN>` for reuse while fewer than max_free_files are kept, and
  /// unlinked otherwise. fsyncs the directory.
  Result<void> release_before(uint64_t lsn);

  /// Creates the spare file the next roll renames into place, so a roll costs a header write
  /// and a rename instead of zero-filling a whole file on the commit path. Heavy (writes
  /// file_bytes zeros) and safe to run in any thread while a Wal uses `dir`: it builds
  /// `wal.spare.tmp` and renames it to `wal.spare` when complete. No-op when a spare or a
  /// released file kept for reuse (wal.free-*) exists: rolls take those first.
  /// Uses plain syscalls, not a backend.
  static Result<void> prepare_spare(const std::string& dir, uint64_t file_bytes);
  /// "wal.spare": the name prepare_spare publishes.
  static constexpr const char* kSpareName = "wal.spare";
  /// "wal.free-": the prefix of released files kept for reuse (then 16 hex digits).
  static constexpr const char* kFreePrefix = "wal.free-";

  struct Stats {
    uint64_t bytes_written = 0;  ///< record bytes made durable (file headers not counted)
    uint64_t syncs = 0;          ///< write_sync calls issued for records
    uint64_t files_created = 0;  ///< including spares taken
    uint64_t files_removed = 0;
    uint64_t spares_used = 0;     ///< rolls that renamed a prepared spare into place
    uint64_t files_recycled = 0;  ///< of files_removed, kept for reuse (wal.free-*)
    uint64_t recycled_used = 0;   ///< rolls that reused a released file (no zero-fill at all)
  };
  Stats stats() const { return stats_; }
  /// Number of log files in the directory (as this Wal knows them).
  uint64_t file_count() const { return files_.size(); }

  struct Impl;  // internal helpers (wal.cpp)

 private:
  struct FileInfo {
    uint64_t first_lsn;
    uint64_t seq;
    uint64_t size;
    std::string path;
  };
  // Records not yet durable, in one contiguous buffer per file they go to.
  struct Part {
    bool new_file = false;  // the file is created (named after first_lsn) before the write
    uint64_t file_size = 0;
    uint64_t offset = 0;  // where buf goes in the file
    uint64_t first_lsn = 0;
    uint64_t last_lsn = 0;
    uint32_t records = 0;
    static constexpr size_t kNone = SIZE_MAX;
    size_t last_record_at = kNone;  // offset in buf of the last record's header
    size_t sealed_end_at = kNone;   // the record carrying kFlagWriteEnd now, if any
    std::vector<std::byte> buf;
  };

  explicit Wal(const WalOptions& options) : options_(options) {}
  Result<void> create_file(const Part& part);
  struct Taken {
    int fd = -1;  // -1: no spare of that size
    bool recycled = false;
  };
  // Renames a released file kept for reuse, or else a prepared spare, of the right size to
  // `path`.
  Result<Taken> take_spare(const std::string& path, uint64_t size);

  WalOptions options_;
  std::vector<FileInfo> files_;    // oldest first
  std::vector<std::string> free_;  // paths of released files kept for reuse, oldest first
  int fd_ = -1;                    // the newest file, open for appends
  uint64_t durable_offset_ = 0;    // end of durable records in the newest file
  uint64_t durable_lsn_ = 0;
  uint64_t next_lsn_ = 1;
  size_t open_at_ = 0;  // append_begin(): where the open record starts in parts_.back().buf
  std::vector<Part> parts_;
  std::vector<std::byte> spare_;  // a drained part's buffer, kept for its capacity
  Stats stats_;
};

/// How scan_wal treats damage in the middle of the log.
enum class ScanMode {
  kStrict,   ///< kCorruption with file, offset and what
  kSalvage,  ///< listed in ScanReport::problems; the scan resumes at the next valid record
};

struct ScanReport {
  uint64_t records = 0;    ///< records passed to visit
  uint64_t last_lsn = 0;   ///< last valid LSN seen (0 when none)
  bool torn_tail = false;  ///< the last file ends in a torn write (Wal::open would zero it)
  std::vector<std::string> problems;  ///< salvage: "file:offset: what" per damaged stretch
};

/// Reads the log in `dir` in LSN order from `from_lsn`, calling visit(lsn, type, payload) for
/// each record; visit returns false to stop. Read-only (repairs nothing). The payload span is
/// valid only during the call. An empty or missing directory is an empty log.
Result<ScanReport> scan_wal(
    const std::string& dir, uint64_t from_lsn, ScanMode mode,
    const std::function<bool(uint64_t, uint16_t, std::span<const std::byte>)>& visit);

/// "wal-<16 hex first_lsn>.log".
std::string wal_file_name(uint64_t first_lsn);

}  // namespace lqs::durability

#endif  // LQS_DURABILITY_WAL_HPP_
