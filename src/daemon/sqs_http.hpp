// Copyright lqs authors. SQS's wire protocols over lqsd's HTTP server, in front of SqsApi, at
// `/` and at queue-URL paths (`/<account>/<name>`):
//  - AWS JSON 1.0 (POST with `X-Amz-Target: AmazonSQS.<Action>`, SQS_REFERENCE.md §5.1).
//    Errors: `__type` and `message` in the body, the legacy code in `x-amzn-query-error`.
//  - Query (`Action=...` form-encoded in a POST body, or in the URL of a GET or POST; §5.2),
//    answered in XML; errors as `<ErrorResponse>`. At a queue-URL path the path names the
//    queue when QueueUrl is not given; a GET there with no Action is
//    `<UnknownOperationException/>` (404), as on SQS.
// Every response carries SQS's HTTP status for its error and `x-amzn-RequestId`.
#ifndef LQS_DAEMON_SQS_HTTP_HPP_
#define LQS_DAEMON_SQS_HTTP_HPP_

#include "daemon/sqs_api.hpp"
#include "http/server.hpp"

#include <functional>
#include <utility>

namespace lqs::daemon {

class SqsHttp {
 public:
  /// Checks a request before it is decoded (SigV4, sigv4.hpp); its error is the answer, in the
  /// request's protocol, with the error's HTTP status.
  using Verifier = std::function<Result<void>(const http::Request&)>;

  /// With no `verify`, every request is served (any or no credentials).
  explicit SqsHttp(SqsApi& api, Verifier verify = {}) : api_(api), verify_(std::move(verify)) {}

  /// True if `r` is an SQS request this class serves.
  static bool accepts(const http::Request& r);
  /// Decodes `r`, runs it and responds (perhaps later, for a long poll).
  void handle(const http::Request& r, const http::Respond& respond);

 private:
  void handle_query(const http::Request& r, const http::Respond& respond);

  SqsApi& api_;
  Verifier verify_;
};

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_SQS_HTTP_HPP_
