// Copyright lqs authors. The pwrite backend, the shared file creation, and FaultyBackend.
#include "durability/io_backend.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <random>
#include <system_error>
#include <vector>

namespace lqs::durability {
namespace detail {

Error sys_error(std::string what, int err) {
  const ErrorCode code =
      (err == ENOSPC || err == EDQUOT) ? ErrorCode::kNoSpace : ErrorCode::kSystem;
  what += ": ";
  what += std::generic_category().message(err);
  return make_error(code, std::move(what), err);
}

Result<void> fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return sys_error("open directory " + dir, errno);
  }
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    return sys_error("fsync directory " + dir, err);
  }
  return {};
}

namespace {

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) {
    return ".";
  }
  if (slash == 0) {
    return "/";
  }
  return path.substr(0, slash);
}

Result<void> zero_fill(int fd, uint64_t size, const std::string& path) {
  constexpr size_t kChunk = 1 << 20;
  const std::vector<char> zeros(kChunk, 0);
  uint64_t off = 0;
  while (off < size) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, size - off));
    const ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sys_error("zero-fill " + path, errno);
    }
    if (w == 0) {
      return sys_error("zero-fill " + path + " (no progress)", EIO);
    }
    // Keep the dirty zeros few: start the writeback of each chunk as it is written and wait
    // for the one before it. A spare is zero-filled beside the commit path (lqsd's spare
    // keeper), and an fdatasync of the live log file, whose cache flush the device applies to
    // everything it holds, then waits behind ~2 MiB instead of a whole file (measured: lag
    // max ~105 ms with one fsync of 64 MiB at the end, see bench/RESULTS.md). Errors here
    // are reported by the caller's fsync.
    (void)::sync_file_range(fd, static_cast<off_t>(off), static_cast<off_t>(w),
                            SYNC_FILE_RANGE_WRITE);
    if (off >= kChunk) {
      (void)::sync_file_range(
          fd, static_cast<off_t>(off - kChunk), static_cast<off_t>(kChunk),
          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    }
    off += static_cast<uint64_t>(w);
  }
  return {};
}

}  // namespace

Result<int> open_preallocated(const std::string& path, uint64_t size, bool create) {
  if (!create) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      return sys_error("open " + path, errno);
    }
    return fd;
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return sys_error("create " + path, errno);
  }
  auto fail = [&](Error e) -> Result<int> {
    ::close(fd);
    ::unlink(path.c_str());
    return e;
  };
  if (::fallocate(fd, 0, 0, static_cast<off_t>(size)) != 0) {
    const int err = errno;
    if (err != EOPNOTSUPP) {
      return fail(sys_error("fallocate " + path, err));
    }
    const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
    if (rc != 0) {
      return fail(sys_error("posix_fallocate " + path, rc));
    }
  }
  if (auto z = zero_fill(fd, size, path); !z) {
    return fail(std::move(z).error());
  }
  if (::fsync(fd) != 0) {
    return fail(sys_error("fsync " + path, errno));
  }
  if (auto d = fsync_dir(parent_dir(path)); !d) {
    return fail(std::move(d).error());
  }
  return fd;
}

void PosixFileBackend::close_file(int fd) { ::close(fd); }

size_t consume_iov(std::vector<struct iovec>& iov, size_t first, size_t n) {
  while (first < iov.size() && (n > 0 || iov[first].iov_len == 0)) {
    if (iov[first].iov_len <= n) {
      n -= iov[first].iov_len;
      ++first;
    } else {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + n;
      iov[first].iov_len -= n;
      n = 0;
    }
  }
  return first;
}

}  // namespace detail

namespace {

class PwriteBackend final : public detail::PosixFileBackend {
 public:
  explicit PwriteBackend(const PwriteOptions& o) : options_(o) {}
  [[nodiscard]] std::string_view name() const override { return "pwrite"; }
  Result<void> write_sync(int fd, uint64_t offset, std::span<const struct iovec> bufs) override;

 private:
  PwriteOptions options_;
  std::vector<struct iovec> iov_;  // reused: no allocation per write once grown
};

Result<void> PwriteBackend::write_sync(int fd, uint64_t offset,
                                       std::span<const struct iovec> bufs) {
  iov_.assign(bufs.begin(), bufs.end());
  size_t first = detail::consume_iov(iov_, 0, 0);
  uint64_t off = offset;
  while (first < iov_.size()) {
    size_t count = std::min<size_t>(iov_.size() - first, IOV_MAX);
    // Test hook: cap the bytes of this call by shortening the iovec list (restored below).
    size_t capped_index = SIZE_MAX;
    size_t capped_len = 0;
    if (options_.max_bytes_per_call != 0) {
      uint64_t budget = options_.max_bytes_per_call;
      for (size_t i = first; i < first + count; ++i) {
        if (iov_[i].iov_len >= budget) {
          capped_index = i;
          capped_len = iov_[i].iov_len;
          iov_[i].iov_len = static_cast<size_t>(budget);
          count = i - first + 1;
          break;
        }
        budget -= iov_[i].iov_len;
      }
    }
    const ssize_t w = ::pwritev(fd, &iov_[first], static_cast<int>(count), static_cast<off_t>(off));
    const int err = errno;
    if (capped_index != SIZE_MAX) {
      iov_[capped_index].iov_len = capped_len;
    }
    if (w < 0) {
      if (err == EINTR) {
        continue;
      }
      return detail::sys_error("pwritev", err);
    }
    if (w == 0) {
      return detail::sys_error("pwritev made no progress", EIO);
    }
    off += static_cast<uint64_t>(w);
    first = detail::consume_iov(iov_, first, static_cast<size_t>(w));
  }
  int rc;
  do {
    rc = ::fdatasync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    return detail::sys_error("fdatasync", errno);
  }
  return {};
}

}  // namespace

std::unique_ptr<IoBackend> make_pwrite_backend(const PwriteOptions& options) {
  return std::make_unique<PwriteBackend>(options);
}

// ---- FaultyBackend -------------------------------------------------------------------------

Result<int> FaultyBackend::open_file(const std::string& path, uint64_t size, bool create) {
  if (crashed_) {
    return detail::sys_error("open " + path + " (simulated power loss)", EIO);
  }
  if (create && fail_all_errno_ != 0) {
    return detail::sys_error("create " + path + " (injected)", fail_all_errno_);
  }
  if (create && fail_create_errno_ != 0) {
    const int err = fail_create_errno_;
    fail_create_errno_ = 0;
    return detail::sys_error("create " + path + " (injected)", err);
  }
  return inner_.open_file(path, size, create);
}

void FaultyBackend::fail_write(uint64_t nth, int err, Tear tear, uint64_t bytes) {
  fail_at_ = nth == 0 ? 0 : writes_ + nth;
  fail_errno_ = err;
  fail_tear_ = tear;
  fail_bytes_ = bytes;
}

void FaultyBackend::clear_faults() {
  fail_at_ = 0;
  fail_all_errno_ = 0;
  fail_create_errno_ = 0;
}

void FaultyBackend::crash_at_write(uint64_t nth, Tear tear, uint64_t bytes, uint32_t seed) {
  crash_at_ = nth == 0 ? 0 : writes_ + nth;
  crash_tear_ = tear;
  crash_bytes_ = bytes;
  crash_seed_ = seed;
}

Result<void> FaultyBackend::write_torn(int fd, uint64_t offset, std::span<const struct iovec> bufs,
                                       Tear tear, uint64_t bytes, uint32_t seed) {
  if (tear == Tear::kNothing) {
    return {};
  }
  // Flatten the write, then write the surviving pieces (durably, through the real backend).
  std::vector<char> all;
  for (const auto& b : bufs) {
    const auto* p = static_cast<const char*>(b.iov_base);
    all.insert(all.end(), p, p + b.iov_len);
  }
  // The write never lands whole (that would be a completed write whose acknowledgement was
  // lost, a different case): its last non-zero byte is always among the lost ones. Zero
  // bytes at its end (padding) are on disk already, in a zero-filled file.
  size_t last_nz = all.size();
  while (last_nz > 0 && all[last_nz - 1] == 0) {
    --last_nz;
  }
  if (last_nz == 0) {
    return {};
  }
  --last_nz;  // index of the last non-zero byte
  if (tear == Tear::kPrefix) {
    const auto n = static_cast<size_t>(std::min<uint64_t>(bytes, last_nz));
    if (n == 0) {
      return {};
    }
    const struct iovec v { all.data(), n };
    return inner_.write_sync(fd, offset, std::span(&v, 1));
  }
  std::mt19937 rng(seed);
  constexpr uint64_t kSector = 512;
  // Sector boundaries are absolute file offsets, as a disk sees them.
  uint64_t pos = offset;
  const uint64_t end = offset + all.size();
  // The sector holding the last non-zero byte is lost when all before it survived.
  const uint64_t last_nz_at = offset + last_nz;
  bool all_kept = true;
  while (pos < end) {
    const uint64_t next = std::min(end, (pos / kSector + 1) * kSector);
    const bool holds_last = pos <= last_nz_at && last_nz_at < next;
    const bool keep = (rng() & 1u) != 0 && !(holds_last && all_kept);
    all_kept = all_kept && keep;
    if (keep) {
      const struct iovec v { all.data() + (pos - offset), static_cast<size_t>(next - pos) };
      if (auto r = inner_.write_sync(fd, pos, std::span(&v, 1)); !r) {
        return r;
      }
    }
    pos = next;
  }
  return {};
}

Result<void> FaultyBackend::write_sync(int fd, uint64_t offset,
                                       std::span<const struct iovec> bufs) {
  ++writes_;
  if (crashed_) {
    return detail::sys_error("write (simulated power loss)", EIO);
  }
  if (crash_at_ != 0 && writes_ == crash_at_) {
    crash_at_ = 0;
    crashed_ = true;
    (void)write_torn(fd, offset, bufs, crash_tear_, crash_bytes_, crash_seed_);
    return detail::sys_error("write (simulated power loss before fdatasync)", EIO);
  }
  if (fail_all_errno_ != 0) {
    return detail::sys_error("write (injected)", fail_all_errno_);
  }
  if (fail_at_ != 0 && writes_ == fail_at_) {
    fail_at_ = 0;
    if (auto r = write_torn(fd, offset, bufs, fail_tear_, fail_bytes_, 7); !r) {
      return r;
    }
    return detail::sys_error("write (injected)", fail_errno_);
  }
  return inner_.write_sync(fd, offset, bufs);
}

}  // namespace lqs::durability
