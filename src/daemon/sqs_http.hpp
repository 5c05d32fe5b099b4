// Copyright lqs authors. SQS's wire protocols over lqsd's HTTP server, in front of SqsApi:
// AWS JSON 1.0 (POST with `X-Amz-Target: AmazonSQS.<Action>`, SQS_REFERENCE.md §5.1), at `/`
// and at queue-URL paths. Errors as SQS sends them: `__type` and `message` in the body, the
// legacy code in `x-amzn-query-error`, SQS's HTTP status; every response carries
// `x-amzn-RequestId`.
#ifndef LQS_DAEMON_SQS_HTTP_HPP_
#define LQS_DAEMON_SQS_HTTP_HPP_

#include "daemon/sqs_api.hpp"
#include "http/server.hpp"

namespace lqs::daemon {

class SqsHttp {
 public:
  explicit SqsHttp(SqsApi& api) : api_(api) {}

  /// True if `r` is an SQS request this class serves.
  static bool accepts(const http::Request& r);
  /// Decodes `r`, runs it and responds (perhaps later, for a long poll).
  void handle(const http::Request& r, const http::Respond& respond);

 private:
  SqsApi& api_;
};

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_SQS_HTTP_HPP_
