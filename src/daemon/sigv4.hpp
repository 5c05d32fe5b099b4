// Copyright lqs authors. AWS Signature Version 4, checked by a server (SQS_REFERENCE.md §5.4).
//
// lqsd accepts any credentials by default. With an `auth` section in its config file (or
// --sigv4) every SQS request must be signed with one of the configured access keys, in either
// form SigV4 allows:
//  - an `Authorization: AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/aws4_request,
//    SignedHeaders=a;b;c, Signature=hex` header plus `X-Amz-Date` (what every SDK sends);
//  - presigned query parameters X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
//    X-Amz-SignedHeaders, X-Amz-Signature (and optionally X-Amz-Expires) in the URL.
// The verifier rebuilds the canonical request from what arrived (method, the raw path
// URI-encoded once more as non-S3 services do, the query decoded, re-encoded and sorted, the
// signed headers trimmed, the payload hash from x-amz-content-sha256 or the body), derives the
// signing key from the secret and compares signatures in constant time. Any region is
// accepted (it is part of the scope the client signed); the service must be `service`.
//
// Errors, in the order they are checked, with AWS's codes and wording:
//   kMissingAuthenticationToken (403)  no Authorization header and no X-Amz-Algorithm parameter
//   kIncompleteSignature (400)         a malformed Authorization / presigned parameter set, an
//                                      algorithm other than AWS4-HMAC-SHA256, no X-Amz-Date,
//                                      `host` not signed
//   kInvalidClientTokenId (403)        an access key id that is not configured
//   kRequestExpired (400)              X-Amz-Date more than 15 minutes from now (presigned:
//                                      past X-Amz-Date + X-Amz-Expires)
//   kSignatureDoesNotMatch (403)       a wrong signature, or a scope for another date/service
//
// Limits: a header sent twice is seen once (http::Request::header gives one value), so a
// client that signs a repeated header fails; the `Date` header is not accepted in place of
// X-Amz-Date; X-Amz-Security-Token is checked only as a signed header, not as a session.
//
// Thread safety: every function is pure (the verifier returned by http_verifier() reads only
// its own copy of the credentials and the system clock); call from any thread.
#ifndef LQS_DAEMON_SIGV4_HPP_
#define LQS_DAEMON_SIGV4_HPP_

#include "lqs/result.hpp"

#include "common/md5.hpp"
#include "http/server.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace lqs::daemon::sigv4 {

/// Access key id → secret access key.
using Credentials = std::map<std::string, std::string, std::less<>>;

/// The config file's `auth` section, decoded.
struct AuthConfig {
  bool sigv4 = false;  ///< require signed requests
  Credentials credentials;
};

/// Decodes an `auth` section: {"sigv4": true|false (default true), "credentials":
/// [{"access_key_id": "...", "secret_access_key": "..."}, ...]}. Booleans may be strings
/// ("true"/"false"), as YAML scalars arrive. Errors: kInvalidParameterValue with a message
/// naming the problem (unknown key, wrong type, an empty id or secret, an id given twice).
Result<AuthConfig> parse_auth_config(const nlohmann::json& auth);

/// One request as it arrived.
struct SignedRequest {
  std::string_view method;                              ///< "GET", "POST", ...
  std::string_view target;                              ///< raw path and query, as sent
  std::function<std::string(std::string_view)> header;  ///< value of a header, "" if absent
  std::string_view body;
};

struct VerifyOptions {
  std::string_view service = "sqs";  ///< the service the credential scope must name
  int64_t max_skew_s = 15 * 60;      ///< how far X-Amz-Date may be from now
};

/// Verifies `r`'s signature against `credentials` at `now_unix_s`. Returns the access key id
/// that signed it. Errors: as listed at the top of this file.
Result<std::string> verify(const SignedRequest& r, const Credentials& credentials,
                           int64_t now_unix_s, const VerifyOptions& options = {});

/// A hook for SqsHttp: verifies each http::Request against (a copy of) `credentials` at the
/// system clock's time.
std::function<Result<void>(const http::Request&)> http_verifier(Credentials credentials);

// --- building blocks, exposed for tests ---------------------------------------------------

/// Lower-case hex SHA-256 (the library's, also used for FIFO content-based deduplication).
using common::sha256_hex;
/// The canonical request for `r` with the given signed headers (";"-separated, lower case),
/// the presigned X-Amz-Signature left out of the query string.
std::string canonical_request(const SignedRequest& r, std::string_view signed_headers);
/// Hex HMAC-SHA256 signature of `string_to_sign` with the key derived from `secret`, `date`
/// (yyyymmdd), `region` and `service`.
std::string signature(std::string_view secret, std::string_view date, std::string_view region,
                      std::string_view service, std::string_view string_to_sign);

}  // namespace lqs::daemon::sigv4

#endif  // LQS_DAEMON_SIGV4_HPP_
