// Copyright lqs authors. Errors and Result<T>: the one error list of the project.
//
// Every error lqs can report is one row of LQS_ERROR_LIST. The same row gives the SQS shape
// name (JSON `__type`), the legacy code (Query `<Code>` and `x-amzn-query-error`) and the HTTP
// status, so the HTTP layer maps errors without a second table (SQS_REFERENCE.md §1.2).
#ifndef LQS_RESULT_HPP_
#define LQS_RESULT_HPP_

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace lqs {

// clang-format off
//   enumerator                  SQS shape (__type)                 legacy code (Query / x-amzn-query-error)                 HTTP
#define LQS_ERROR_LIST(X)                                                                                                        \
  X(kOk,                        "",                                "",                                                      200) \
  X(kQueueDoesNotExist,         "QueueDoesNotExist",               "AWS.SimpleQueueService.NonExistentQueue",              400) \
  X(kQueueNameExists,           "QueueNameExists",                 "QueueAlreadyExists",                                    400) \
  X(kReceiptHandleIsInvalid,    "ReceiptHandleIsInvalid",          "ReceiptHandleIsInvalid",                                404) \
  X(kMessageNotInflight,        "MessageNotInflight",              "AWS.SimpleQueueService.MessageNotInflight",             400) \
  X(kTooManyEntriesInBatch,     "TooManyEntriesInBatchRequest",    "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",   400) \
  X(kEmptyBatchRequest,         "EmptyBatchRequest",               "AWS.SimpleQueueService.EmptyBatchRequest",              400) \
  X(kBatchEntryIdsNotDistinct,  "BatchEntryIdsNotDistinct",        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",       400) \
  X(kInvalidBatchEntryId,       "InvalidBatchEntryId",             "AWS.SimpleQueueService.InvalidBatchEntryId",            400) \
  X(kBatchRequestTooLong,       "BatchRequestTooLong",             "AWS.SimpleQueueService.BatchRequestTooLong",            400) \
  X(kInvalidAttributeName,      "InvalidAttributeName",            "InvalidAttributeName",                                  400) \
  X(kInvalidAttributeValue,     "InvalidAttributeValue",           "InvalidAttributeValue",                                 400) \
  X(kInvalidMessageContents,    "InvalidMessageContents",          "InvalidMessageContents",                                400) \
  X(kInvalidParameterValue,     "InvalidParameterValueException",  "InvalidParameterValue",                                 400) \
  X(kMissingParameter,          "MissingRequiredParameterException", "MissingParameter",                                    400) \
  X(kOverLimit,                 "OverLimit",                       "OverLimit",                                             403) \
  X(kQueueFull,                 "OverLimit",                       "OverLimit",                                             403) \
  X(kCorruption,                "InternalFailure",                 "InternalFailure",                                       500) \
  X(kIncompatibleVersion,       "InternalFailure",                 "InternalFailure",                                       500) \
  X(kSystem,                    "InternalFailure",                 "InternalFailure",                                       500) \
  X(kNoSpace,                   "InternalFailure",                 "InternalFailure",                                       500) \
  X(kTimedOut,                  "ServiceUnavailable",              "ServiceUnavailable",                                    503) \
  X(kQueueDeletedRecently,      "QueueDeletedRecently",            "AWS.SimpleQueueService.QueueDeletedRecently",           400) \
  X(kPurgeQueueInProgress,      "PurgeQueueInProgress",            "AWS.SimpleQueueService.PurgeQueueInProgress",           403) \
  X(kInstanceLocked,            "InternalFailure",                 "InternalFailure",                                       500) \
  X(kResourceNotFound,          "ResourceNotFoundException",       "ResourceNotFoundException",                             404) \
  X(kUnsupportedOperation,      "UnsupportedOperation",            "AWS.SimpleQueueService.UnsupportedOperation",           400) \
  X(kInvalidAction,             "UnknownOperationException",       "InvalidAction",                                         400) \
  X(kMalformedRequest,          "SerializationException",          "MalformedQueryString",                                  400) \
  X(kMissingAction,             "MissingAction",                   "MissingAction",                                         400) \
  X(kMissingAuthenticationToken, "MissingAuthenticationToken",     "MissingAuthenticationToken",                            403) \
  X(kIncompleteSignature,       "IncompleteSignature",             "IncompleteSignature",                                   400) \
  X(kInvalidClientTokenId,      "InvalidClientTokenId",            "InvalidClientTokenId",                                  403) \
  X(kSignatureDoesNotMatch,     "SignatureDoesNotMatch",           "SignatureDoesNotMatch",                                 403) \
  X(kRequestExpired,            "RequestExpired",                  "RequestExpired",                                        400)
// clang-format on

/// Every error the library reports. Values are stable (they may be stored in shared memory).
enum class ErrorCode : uint16_t {
#define LQS_X(name, shape, legacy, http) name,
  LQS_ERROR_LIST(LQS_X)
#undef LQS_X
};

/// "kQueueFull" and so on: the enumerator's own name.
std::string_view to_string(ErrorCode code) noexcept;
/// The SQS JSON `__type` shape name for `code`.
std::string_view sqs_shape(ErrorCode code) noexcept;
/// The SQS legacy error code (Query `<Code>`, `x-amzn-query-error`).
std::string_view sqs_legacy_code(ErrorCode code) noexcept;
/// The HTTP status SQS answers `code` with.
int sqs_http_status(ErrorCode code) noexcept;

/// An error: a code, the errno of a failed system call (or 0), and a human-readable message
/// in SQS's wording where SQS has one. Building an Error may allocate; success never does.
struct Error {
  ErrorCode code = ErrorCode::kOk;
  int sys_errno = 0;
  std::string message;
};

inline Error make_error(ErrorCode code, std::string message = {}, int sys_errno = 0) {
  return Error{code, sys_errno, std::move(message)};
}

/// A value or an Error, shaped like std::expected<T, Error> (C++23) so it can become an alias.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit
  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  bool has_value() const noexcept { return error_.code == ErrorCode::kOk; }
  explicit operator bool() const noexcept { return has_value(); }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
};

}  // namespace lqs

#endif  // LQS_RESULT_HPP_
