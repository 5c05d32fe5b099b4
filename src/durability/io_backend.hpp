// Copyright lqs authors. The I/O seam of the write-ahead log: io_uring, pwrite, faulty.
//
// Contract: an IoBackend is used by one thread (lqsd's durability thread); it is not
// thread-safe. write_sync returns only once the bytes are durable (fdatasync done), so between
// calls nothing written through a backend is unsynced. A write that fails may have left any
// prefix (or, after a power loss, any subset of sectors) of its bytes on disk: the caller
// rewrites the same range on retry, and recovery (Wal::open) treats such bytes as a torn tail.
#ifndef LQS_DURABILITY_IO_BACKEND_HPP_
#define LQS_DURABILITY_IO_BACKEND_HPP_

#include "lqs/result.hpp"

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lqs::durability {

class IoBackend {
 public:
  virtual ~IoBackend() = default;
  /// "io_uring" | "pwrite" | "faulty".
  [[nodiscard]] virtual std::string_view name() const = 0;
  /// Opens `path` read-write. With `create`: creates (or truncates) it, reserves `size` bytes
  /// with fallocate, writes zeros over all of them (so later writes are overwrites of written
  /// extents, the cheap fdatasync case), fsyncs the file and its directory. Errors: kNoSpace
  /// (ENOSPC), kSystem (with errno) otherwise.
  virtual Result<int> open_file(const std::string& path, uint64_t size, bool create) = 0;
  /// Writes `bufs` at `offset` and makes them durable (fdatasync) before returning. A short
  /// write is continued until complete, or reported as an error; never ignored.
  virtual Result<void> write_sync(int fd, uint64_t offset, std::span<const struct iovec> bufs) = 0;
  virtual void close_file(int fd) = 0;

 protected:
  IoBackend() = default;
  IoBackend(const IoBackend&) = default;
  IoBackend& operator=(const IoBackend&) = default;
};

/// The io_uring backend: one writev SQE linked (IOSQE_IO_LINK) to an fdatasync SQE, one
/// io_uring_submit_and_wait per write_sync. Error kSystem with the reason when io_uring is not
/// usable here (ENOSYS, EPERM under seccomp, ...): the caller falls back to pwrite and says so.
Result<std::unique_ptr<IoBackend>> make_uring_backend();

struct PwriteOptions {
  /// For tests: at most this many bytes per pwritev call (0 = no limit), to exercise the
  /// short-write loop.
  uint64_t max_bytes_per_call = 0;
};
/// pwritev + fdatasync.
std::unique_ptr<IoBackend> make_pwrite_backend(const PwriteOptions& options = {});

/// A test backend wrapping a real one (not owned). Injects errors on chosen writes and
/// simulates a power loss. Model: every successful write_sync of the inner backend is durable,
/// so "data written but not synced" exists only inside a write_sync that does not complete;
/// a fault or crash there leaves a chosen part of that write on disk (a torn prefix, or
/// scattered 512-byte sectors as a disk that reorders writes would) and nothing else.
class FaultyBackend final : public IoBackend {
 public:
  enum class Tear {
    kNothing,           // none of the interrupted write reaches the disk
    kPrefix,            // its first `bytes` bytes do (never all of them)
    kScatteredSectors,  // a pseudo-random half of its 512-byte sectors do (seeded; never
                        // all of them)
  };

  explicit FaultyBackend(IoBackend& inner) : inner_(inner) {}

  [[nodiscard]] std::string_view name() const override { return "faulty"; }
  Result<int> open_file(const std::string& path, uint64_t size, bool create) override;
  Result<void> write_sync(int fd, uint64_t offset, std::span<const struct iovec> bufs) override;
  void close_file(int fd) override { inner_.close_file(fd); }

  /// The `nth` write_sync from now (1 = the next) fails with `err` (EIO, ENOSPC, ...) after
  /// `tear` of its bytes reached the disk. One-shot.
  void fail_write(uint64_t nth, int err, Tear tear = Tear::kNothing, uint64_t bytes = 0);
  /// Every write_sync and every creating open_file fails with `err` until clear_faults().
  void fail_all(int err) { fail_all_errno_ = err; }
  /// The next creating open_file fails with `err`, creating nothing. One-shot.
  void fail_next_create(int err) { fail_create_errno_ = err; }
  void clear_faults();
  /// Simulated power loss during the next write_sync: only `tear` of its bytes survive, it
  /// fails (EIO), and from then on every call fails: the machine is down. Reopen the log
  /// with another backend to "reboot".
  void crash_before_sync_of_next_write(Tear tear = Tear::kNothing, uint64_t bytes = 0,
                                       uint32_t seed = 1) {
    crash_at_write(1, tear, bytes, seed);
  }
  /// The same at the `nth` write_sync from now (1 = the next).
  void crash_at_write(uint64_t nth, Tear tear = Tear::kNothing, uint64_t bytes = 0,
                      uint32_t seed = 1);
  /// Power loss now. Every earlier successful write_sync was synced, so nothing is lost;
  /// every later call fails.
  void crash() { crashed_ = true; }
  bool crashed() const { return crashed_; }
  /// write_sync calls seen (including failed ones).
  uint64_t writes() const { return writes_; }

 private:
  Result<void> write_torn(int fd, uint64_t offset, std::span<const struct iovec> bufs, Tear tear,
                          uint64_t bytes, uint32_t seed);

  IoBackend& inner_;
  uint64_t writes_ = 0;
  uint64_t fail_at_ = 0;  // absolute write number, 0 = none
  int fail_errno_ = 0;
  Tear fail_tear_ = Tear::kNothing;
  uint64_t fail_bytes_ = 0;
  int fail_all_errno_ = 0;
  int fail_create_errno_ = 0;
  uint64_t crash_at_ = 0;  // absolute write number, 0 = none
  Tear crash_tear_ = Tear::kNothing;
  uint64_t crash_bytes_ = 0;
  uint32_t crash_seed_ = 1;
  bool crashed_ = false;
};

namespace detail {
/// The shared open_file of the real backends (plain syscalls; not on the hot path).
Result<int> open_preallocated(const std::string& path, uint64_t size, bool create);
/// open_file and close_file of the real backends.
class PosixFileBackend : public IoBackend {
 public:
  Result<int> open_file(const std::string& path, uint64_t size, bool create) override {
    return open_preallocated(path, size, create);
  }
  void close_file(int fd) override;
};
/// After a (possibly short) write of `n` bytes from iov[first, ...): advances past them and
/// past empty buffers; returns the new `first` (iov.size() when everything is written).
size_t consume_iov(std::vector<struct iovec>& iov, size_t first, size_t n);
/// fsync of the directory holding `path` (or of `path` itself when it is a directory).
Result<void> fsync_dir(const std::string& dir);
/// kNoSpace for ENOSPC/EDQUOT, kSystem otherwise; message "<what>: <strerror>".
Error sys_error(std::string what, int err);
}  // namespace detail

}  // namespace lqs::durability

#endif  // LQS_DURABILITY_IO_BACKEND_HPP_
