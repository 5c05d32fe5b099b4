// Copyright lqs authors. The io_uring backend: writev linked to fdatasync, one submit per
// write_sync.
#include "durability/io_backend.hpp"

#include <liburing.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace lqs::durability {
namespace {

constexpr uint64_t kWriteTag = 1;
constexpr uint64_t kSyncTag = 2;

class UringBackend final : public detail::PosixFileBackend {
 public:
  UringBackend() = default;
  ~UringBackend() override {
    if (ready_) {
      io_uring_queue_exit(&ring_);
    }
  }
  UringBackend(const UringBackend&) = delete;
  UringBackend& operator=(const UringBackend&) = delete;

  Result<void> init() {
    // Completions need not interrupt the submitter (it waits for them anyway): no IPI per
    // completion (kernel >= 5.19; plain setup before). Not SINGLE_ISSUER: the backend may be
    // created on one thread and used on another.
    struct io_uring_params p {};
    p.flags = IORING_SETUP_COOP_TASKRUN;
    int rc = io_uring_queue_init_params(8, &ring_, &p);
    if (rc == -EINVAL) {
      rc = io_uring_queue_init(8, &ring_, 0);
    }
    if (rc < 0) {
      return detail::sys_error("io_uring_queue_init", -rc);
    }
    ready_ = true;
    return {};
  }
  [[nodiscard]] std::string_view name() const override { return "io_uring"; }
  Result<void> write_sync(int fd, uint64_t offset, std::span<const struct iovec> bufs) override;

 private:
  struct io_uring ring_ {};
  bool ready_ = false;
  std::vector<struct iovec> iov_;  // reused; must outlive the submission
};

Result<void> UringBackend::write_sync(int fd, uint64_t offset, std::span<const struct iovec> bufs) {
  iov_.assign(bufs.begin(), bufs.end());
  size_t first = detail::consume_iov(iov_, 0, 0);
  uint64_t off = offset;
  // Each round: writev of what is left, linked to fdatasync. A short write breaks the link
  // (the kernel cancels the fsync) or not; either way the rest is written and synced in the
  // next round, so the last round always ends with a completed fdatasync.
  for (int round = 0;; ++round) {
    const bool have_data = first < iov_.size();
    if (have_data) {
      struct io_uring_sqe* w = io_uring_get_sqe(&ring_);
      const auto count = static_cast<unsigned>(std::min<size_t>(iov_.size() - first, 1024));
      io_uring_prep_writev(w, fd, &iov_[first], count, off);
      io_uring_sqe_set_flags(w, IOSQE_IO_LINK);
      io_uring_sqe_set_data64(w, kWriteTag);
    }
    struct io_uring_sqe* s = io_uring_get_sqe(&ring_);
    io_uring_prep_fsync(s, fd, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data64(s, kSyncTag);
    const unsigned want = have_data ? 2 : 1;
    int rc;
    do {
      rc = io_uring_submit_and_wait(&ring_, want);
    } while (rc == -EINTR);
    if (rc < 0) {
      return detail::sys_error("io_uring_submit_and_wait", -rc);
    }
    int write_res = 0;
    int sync_res = 0;
    for (unsigned got = 0; got < want;) {
      struct io_uring_cqe* cqe = nullptr;
      const int wr = io_uring_wait_cqe(&ring_, &cqe);
      if (wr == -EINTR) {
        continue;
      }
      if (wr < 0) {
        return detail::sys_error("io_uring_wait_cqe", -wr);
      }
      if (io_uring_cqe_get_data64(cqe) == kWriteTag) {
        write_res = cqe->res;
      } else {
        sync_res = cqe->res;
      }
      io_uring_cqe_seen(&ring_, cqe);
      ++got;
    }
    if (have_data) {
      if (write_res < 0) {
        return detail::sys_error("io_uring writev", -write_res);
      }
      if (write_res == 0) {
        return detail::sys_error("io_uring writev made no progress", EIO);
      }
      off += static_cast<uint64_t>(write_res);
      first = detail::consume_iov(iov_, first, static_cast<size_t>(write_res));
      if (first < iov_.size()) {
        continue;  // short write: the linked fsync was cancelled or covers only a prefix
      }
    }
    if (sync_res < 0) {
      if (sync_res == -ECANCELED && round < 1000) {
        continue;  // write completed fully but the link broke: sync again
      }
      return detail::sys_error("io_uring fdatasync", -sync_res);
    }
    return {};
  }
}

}  // namespace

Result<std::unique_ptr<IoBackend>> make_uring_backend() {
  auto b = std::make_unique<UringBackend>();
  if (auto r = b->init(); !r) {
    return std::move(r).error();
  }
  return std::unique_ptr<IoBackend>(std::move(b));
}

}  // namespace lqs::durability
