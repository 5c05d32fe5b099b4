// Copyright lqs authors. A pure codec for SQS's AWS Query protocol (SQS_REFERENCE.md §5.2):
// form-encoded requests in, XML responses out, over the JSON-protocol shapes the JSON core
// (SqsApi, sqs_api.hpp) speaks. It does no I/O and knows no queue: the HTTP handler calls
// parse(), runs the action on `input` as if it came from AWS JSON 1.0, then renders the JSON
// output (or the Error) with render_result() (or render_error()).
//
// The names come from a table generated from the botocore 1.29 (Query-era) model by
// tools/gen/sqs_query_model.py (sqs_query_model.inc): flattened lists (`AttributeName.N`),
// maps (`Attribute.N.Name/Value`, `Tag.N.Key/Value`, `MessageAttribute.N.Name/Value.*`),
// batch entries (`SendMessageBatchRequestEntry.N.*`), and their XML element names.
//
// Thread safety: every function is pure; call from any thread.
#ifndef LQS_DAEMON_SQS_QUERY_HPP_
#define LQS_DAEMON_SQS_QUERY_HPP_

#include "lqs/result.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace lqs::daemon::query {

/// A decoded Query request: the action, the Version parameter as sent (clients send
/// "2012-11-05"; not checked), and the input shaped as the JSON protocol's request.
struct QueryRequest {
  std::string action;
  std::string version;
  nlohmann::json input;
};

/// Parses an application/x-www-form-urlencoded body and the URL's query string (GET puts the
/// parameters there; a parameter in both takes the body's value, and a repeated parameter its
/// first value). Integer members become JSON numbers, booleans JSON booleans, blobs stay
/// base64 strings. Unknown parameters are ignored; required members are not checked (the JSON
/// core answers MissingParameter as it does for JSON requests).
///
/// Errors: kMissingAction (no Action), kInvalidAction (an action not among the 23),
/// kMalformedRequest = MalformedQueryString (bad percent-encoding, invalid UTF-8, list or map
/// indexes that are not 1, 2, ... N), kInvalidParameterValue (a non-integer where the model
/// says Integer/Long, a boolean other than true/false), kMissingParameter (a map entry
/// without its key or its string value, e.g. `Tag.1.Value` without `Tag.1.Key`).
Result<QueryRequest> parse(std::string_view form_body, std::string_view url_query);

/// The XML body for a successful `action` whose JSON-protocol output is `output`:
///   <ActionResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">
///     <ActionResult>...</ActionResult>
///     <ResponseMetadata><RequestId>request_id</RequestId></ResponseMetadata>
///   </ActionResponse>
/// without the Result element for actions that have none (DeleteQueue, ...), and with an
/// empty one (`<ReceiveMessageResult/>`) for an empty output. Members appear in the model's
/// order; members the model does not know are left out. An unknown `action` renders as one
/// with no result.
std::string render_result(std::string_view action, const nlohmann::json& output,
                          std::string_view request_id);

/// <ErrorResponse xmlns="..."><Error><Type>Sender|Receiver</Type><Code>legacy code</Code>
/// <Message>..</Message><Detail/></Error><RequestId>..</RequestId></ErrorResponse>;
/// Type is Receiver for a 5xx status (sqs_http_status), Sender otherwise. The HTTP status to
/// send with it is sqs_http_status(e.code).
std::string render_error(const Error& e, std::string_view request_id);

}  // namespace lqs::daemon::query

#endif  // LQS_DAEMON_SQS_QUERY_HPP_
