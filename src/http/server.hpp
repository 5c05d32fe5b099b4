// Copyright lqs authors. A small asynchronous HTTP/1.1 server (Boost.Beast on Asio) for lqsd:
// one or more I/O threads (an io_context each; a connection stays on one), keep-alive, bounded
// header and body sizes, a bounded number of connections, an idle timeout, and a graceful stop.
// Requests go to one handler function. lqsd serves the SQS API, /metrics and /health through it.
// Responses may be given later from another thread (long polls), without a thread per waiting
// request.
#ifndef LQS_HTTP_SERVER_HPP_
#define LQS_HTTP_SERVER_HPP_

#include "lqs/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lqs::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string body;
  /// Value of a header, "" if absent; valid, like the request, only during the handler call.
  std::function<std::string_view(std::string_view)> header;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra response headers
};

/// Sends the response to a request. Call it exactly once, from any thread, now or later (a
/// long poll answers up to 20 s later); the connection reads nothing more until then.
using Respond = std::function<void(Response)>;
/// Handles one request. `request` (and its header()) is valid only during the call: take what
/// is needed before returning. Runs on one of the server's I/O threads (several requests of
/// different connections at once when ServerOptions::threads > 1): it must not block and must
/// be thread-safe.
using Handler = std::function<void(const Request& request, Respond respond)>;

struct ServerOptions {
  std::string listen = "127.0.0.1:9324";  ///< HOST:PORT; port 0 picks a free one
  size_t max_connections = 1024;          ///< further connections are accepted and closed
  uint32_t max_header_bytes = 16 * 1024;  ///< larger headers: 431, connection closed
  uint64_t max_body_bytes = 2 * 1024 * 1024;
  std::chrono::seconds idle_timeout{60};
  unsigned threads = 1;  ///< I/O threads; each connection's handlers run on one of them
};

class Server {
 public:
  /// Binds and starts serving on a thread of its own. Errors: kSystem (bad address, port in
  /// use) with the reason.
  static Result<std::unique_ptr<Server>> start(const ServerOptions& options, Handler handler);
  /// The address actually bound, "HOST:PORT" (useful with port 0).
  std::string local_address() const;
  /// Stops accepting, closes every connection and joins the thread. Idempotent.
  void stop();
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lqs::http

#endif  // LQS_HTTP_SERVER_HPP_
