// Copyright lqs authors. Small file helpers for lqsd's state in the data directory.
#ifndef LQS_DAEMON_FILES_HPP_
#define LQS_DAEMON_FILES_HPP_

#include "lqs/result.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace lqs::daemon {

/// Writes `text` to `path` atomically: a temporary file, fsync, rename, fsync of the
/// directory. A crash leaves the old file or the new one, never half of one (a stray
/// `<path>.tmp` may remain; the next write replaces it). Errors: kNoSpace, kSystem.
Result<void> write_file_atomically(const std::filesystem::path& path, const std::string& text);
/// Reads a JSON file. Errors: kSystem (unreadable), kCorruption (not JSON).
Result<nlohmann::json> read_json(const std::filesystem::path& path);

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_FILES_HPP_
