// Copyright lqs authors. Fuzz target: attaching to a segment made of arbitrary bytes must give
// a clear error or a working queue, never a crash or a hang (DESIGN.md guarantee 6).
//
// Built as a libFuzzer target in the `fuzz` preset (clang); in every other build the same
// function is driven by segment_attach_replay.cpp over tests/fuzz/corpus/segment_attach/.
#include "lqs/queue.hpp"

#include "shm/segment.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // 1. The validator on the raw bytes (8-byte aligned copy, as a mapping would be).
  std::vector<uint64_t> buf((size + 7) / 8 + 1);
  if (size > 0) std::memcpy(buf.data(), data, size);
  (void)lqs::shm::validate_segment(buf.data(), size);
  // 2. The whole attach path through a real file: open, recover, receive, fsck.
  static const std::string root = "/dev/shm/lqs-fuzz-" + std::to_string(::getpid());
  std::filesystem::create_directories(root);
  const std::string path = root + "/f.v1.seg";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  if (size > 0 && ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    ::close(fd);
    return 0;
  }
  ::close(fd);
  lqs::QueueLocation where;
  where.shm_root = root;
  where.name = "f";
  auto q = lqs::Queue::open(where);
  if (q) {
    lqs::ReceiveBatch b;
    lqs::ReceiveOptions o;
    o.max_number_of_messages = 10;
    (void)q->receive(b, o);
    for (size_t i = 0; i < b.count; ++i) (void)q->delete_message(b.messages[i].receipt_handle);
    (void)q->fsck();
    (void)q->counts();
  }
  ::unlink(path.c_str());
  return 0;
}
