// Copyright lqs authors.
#include "daemon/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace lqs::daemon {

namespace fs = std::filesystem;
using nlohmann::json;

Result<void> write_file_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return make_error(ErrorCode::kSystem, "cannot write " + tmp.string(), errno);
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      (void)::close(fd);
      return make_error(err == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kSystem,
                        "cannot write " + tmp.string(), err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    (void)::close(fd);
    return make_error(ErrorCode::kSystem, "cannot fsync " + tmp.string(), err);
  }
  (void)::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return make_error(ErrorCode::kSystem, "cannot rename " + tmp.string(), errno);
  }
  const int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    (void)::close(dfd);
  }
  return {};
}

Result<json> read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) {
    return make_error(ErrorCode::kSystem, "cannot read " + path.string(), errno);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return make_error(ErrorCode::kCorruption, path.string() + " is not valid JSON");
  }
  return j;
}

}  // namespace lqs::daemon
