// Copyright lqs authors. The error table, generated from LQS_ERROR_LIST.
#include "lqs/result.hpp"

#include <cstddef>
#include <iterator>
#include <string_view>

namespace lqs {
namespace {

struct Row {
  std::string_view name, shape, legacy;
  int http;
};

// Row i describes the enumerator with value i: both come from the same list, in order.
constexpr Row kRows[] = {
#define LQS_X(name, shape, legacy, http) {#name, shape, legacy, http},
    LQS_ERROR_LIST(LQS_X)
#undef LQS_X
};

// An out-of-range value (say, read from a damaged segment) reads as kSystem.
const Row& row(ErrorCode c) noexcept {
  const auto i = static_cast<size_t>(c);
  return i < std::size(kRows) ? kRows[i] : kRows[static_cast<size_t>(ErrorCode::kSystem)];
}

}  // namespace

std::string_view to_string(ErrorCode code) noexcept { return row(code).name; }
std::string_view sqs_shape(ErrorCode code) noexcept { return row(code).shape; }
std::string_view sqs_legacy_code(ErrorCode code) noexcept { return row(code).legacy; }
int sqs_http_status(ErrorCode code) noexcept { return row(code).http; }

}  // namespace lqs
