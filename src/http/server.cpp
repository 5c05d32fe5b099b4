// Copyright lqs authors.
#include "http/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <optional>
#include <thread>
#include <vector>

namespace lqs::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

// A socket bound to its thread's io_context by type: no type-erased executor copied on
// every operation (with beast::tcp_stream's any_io_executor, executor copies and its
// per-operation timeout timers were ~5 % of lqsd's samples on SendMessage).
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using Clock = std::chrono::steady_clock;

class Session;

// The connections of one I/O thread, and a timer that closes those whose read or write has
// run longer than the idle timeout (a request trickling in, a client that stopped reading).
// Touched only on that thread.
class IdleSweep {
 public:
  IdleSweep(asio::io_context& io, std::chrono::seconds idle_timeout)
      : timer_(io),
        period_(std::clamp<Clock::duration>(idle_timeout / 4, std::chrono::milliseconds(10),
                                            std::chrono::seconds(1))) {}
  IdleSweep(const IdleSweep&) = delete;
  IdleSweep& operator=(const IdleSweep&) = delete;

  void add(std::weak_ptr<Session> s) { sessions_.push_back(std::move(s)); }
  void arm() {
    timer_.expires_after(period_);
    timer_.async_wait([this](beast::error_code ec) {
      if (!ec) {
        sweep();
      }
    });
  }

 private:
  void sweep();

  asio::steady_timer timer_;
  Clock::duration period_;
  std::vector<std::weak_ptr<Session>> sessions_;
};

// One connection: read a request, answer it, repeat while keep-alive; each read and each
// write bounded by the idle timeout (IdleSweep). Lives as long as an operation holds its
// shared_ptr.
class Session : public std::enable_shared_from_this<Session> {
 public:
  // `io`: the io_context that `socket` belongs to, run by one thread (Server::Impl).
  Session(Socket socket, asio::io_context& io, IdleSweep& sweep, const Handler& handler,
          const ServerOptions& options, std::atomic<size_t>& live)
      : socket_(std::move(socket)),
        io_(io),
        sweep_(sweep),
        handler_(handler),
        options_(options),
        live_(live) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { live_.fetch_sub(1, std::memory_order_relaxed); }

  // IdleSweep: a read or write pending since before `now - idle timeout` ends the connection
  // (the operation completes with operation_aborted).
  void cut_off_if_overdue(Clock::time_point now) {
    if (now > deadline_) {
      close();
    }
  }

  void run() {
    sweep_.add(weak_from_this());
    // Beast reads at most the buffer's spare capacity (at least 512 bytes): from an empty
    // buffer a 1 KiB request took three recvmsg calls. With this, one read takes a request of
    // up to kReadBytes whole (the buffer still grows for larger ones).
    buffer_.reserve(kReadBytes);
    read();
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(options_.max_header_bytes);
    parser_->body_limit(options_.max_body_bytes);
    deadline_ = Clock::now() + options_.idle_timeout;
    bhttp::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    deadline_ = Clock::time_point::max();  // the handler's time is not bounded (long polls)
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::bad_descriptor) {
      close();
      return;
    }
    if (ec) {
      // Malformed request, or a header/body over its limit: answer once, then close.
      const int status = ec == bhttp::error::header_limit ? 431
                         : ec == bhttp::error::body_limit ? 413
                                                          : 400;
      write(Response{status, "text/plain; charset=utf-8", ec.message() + "\n", {}}, false);
      return;
    }
    auto& req = parser_->get();
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = std::move(req.body());  // the parser is replaced before the next request
    r.header = [&req](std::string_view name) {
      auto it = req.find(beast::string_view(name.data(), name.size()));
      if (it == req.end()) {
        return std::string_view();
      }
      const beast::string_view v = it->value();
      return std::string_view(v.data(), v.size());
    };
    const bool keep_alive = req.keep_alive();
    auto self = shared_from_this();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Respond respond = [self, keep_alive, answered](Response resp) {
      if (answered->exchange(true)) {
        return;  // a second answer is a handler bug; the first one stands
      }
      // Answered by the handler itself, on this session's thread: on_read writes it when the
      // handler returns, without a trip through the io_context's queue. Any other thread (a
      // long poll answered later): post to the session's thread. in_handler_ is read only
      // on that thread (the check before it is false everywhere else), so it does not race.
      if (self->io_.get_executor().running_in_this_thread() && self->in_handler_) {
        self->pending_.emplace(std::move(resp));
        return;
      }
      asio::post(self->socket_.get_executor(),
                 [self, keep_alive, resp = std::move(resp)]() mutable {
                   self->write(std::move(resp), keep_alive);
                 });
    };
    in_handler_ = true;
    try {
      handler_(r, respond);
    } catch (const std::exception& e) {  // a handler bug must not take the server down
      respond(Response{
          500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n", {}});
    }
    in_handler_ = false;
    if (pending_) {
      Response resp = std::move(*pending_);
      pending_.reset();
      write(std::move(resp), keep_alive);
    }
  }

  // The status line and headers are formatted here, and written with the body in one
  // gather write (one sendmsg): Beast's serializer, with a field allocation per header and
  // its buffer-sequence iterators, was ~4 % of lqsd's samples on SendMessageBatch. Only one
  // write is in flight per connection (the next read starts when it completes), so the
  // buffers live in the session.
  void write(Response r, bool keep_alive) {
    out_body_ = std::move(r.body);
    if (no_body(r.status)) {
      out_body_.clear();
    }
    format_head(r, keep_alive, out_body_.size(), out_head_);
    deadline_ = Clock::now() + options_.idle_timeout;
    const std::array<asio::const_buffer, 2> bufs{asio::buffer(out_head_), asio::buffer(out_body_)};
    asio::async_write(socket_, bufs,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        self->deadline_ = Clock::time_point::max();
                        if (ec || !keep_alive) {
                          self->close();
                        } else {
                          self->read();
                        }
                      });
  }

  // "HTTP/1.1 <status> <reason>", Server, Content-Type, the extra headers, Content-Length
  // (no body for 1xx, 204 and 304, which have none), "Connection: close" unless kept alive.
  static void format_head(const Response& r, bool keep_alive, size_t body_bytes, std::string& out) {
    out.clear();
    out.append("HTTP/1.1 ");
    char num[24];
    auto put_number = [&](uint64_t v) {
      const auto [end, ec] = std::to_chars(num, num + sizeof num, v);
      (void)ec;  // 24 bytes hold any uint64_t
      out.append(num, end);
    };
    put_number(static_cast<uint64_t>(r.status));
    out.push_back(' ');
    const beast::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
    out.append(reason.data(), reason.size());
    out.append("\r\nServer: lqsd\r\nContent-Type: ");
    out.append(r.content_type);
    out.append("\r\n");
    for (const auto& [name, value] : r.headers) {
      out.append(name);
      out.append(": ");
      out.append(value);
      out.append("\r\n");
    }
    if (!no_body(r.status)) {
      out.append("Content-Length: ");
      put_number(body_bytes);
      out.append("\r\n");
    }
    if (!keep_alive) {
      out.append("Connection: close\r\n");
    }
    out.append("\r\n");
  }

  static bool no_body(int status) { return status < 200 || status == 204 || status == 304; }

  void close() {
    deadline_ = Clock::time_point::max();
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  static constexpr size_t kReadBytes = 8192;

  Socket socket_;
  asio::io_context& io_;
  IdleSweep& sweep_;
  Clock::time_point deadline_ = Clock::time_point::max();  // of the pending read or write
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  const Handler& handler_;
  const ServerOptions& options_;
  std::atomic<size_t>& live_;
  // The synchronous answer of the request being handled (see on_read). Touched only on the
  // session's thread.
  bool in_handler_ = false;
  std::optional<Response> pending_;
  // The response being written (write()).
  std::string out_head_;
  std::string out_body_;
};

void IdleSweep::sweep() {
  const Clock::time_point now = Clock::now();
  size_t kept = 0;
  for (size_t i = 0; i < sessions_.size(); ++i) {
    if (const std::shared_ptr<Session> s = sessions_[i].lock()) {
      s->cut_off_if_overdue(now);
      if (kept != i) {
        sessions_[kept] = std::move(sessions_[i]);
      }
      ++kept;
    }
  }
  sessions_.resize(kept);
  arm();
}

bool split_host_port(const std::string& listen, std::string& host, uint16_t& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return false;
  }
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view p(listen.data() + colon + 1, listen.size() - colon - 1);
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc{} || end != p.data() + p.size() || v > 65535) {
    return false;
  }
  port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

// One io_context per I/O thread, each run by that thread alone; the acceptor (on the first)
// deals connections out round-robin. A connection lives on one thread, so its handlers never
// run concurrently and never hop threads (a strand over a shared io_context did both: every
// completion could wake another thread).
struct Server::Impl {
  Impl(ServerOptions o, Handler h, unsigned n)
      : options(std::move(o)), handler(std::move(h)), ios(make_ios(n)), acceptor(*ios[0]) {
    for (auto& io : ios) {
      guards.emplace_back(io->get_executor());  // run() returns only when stopped
      sweeps.push_back(std::make_unique<IdleSweep>(*io, options.idle_timeout));
    }
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() = default;

  static std::vector<std::unique_ptr<asio::io_context>> make_ios(unsigned n) {
    std::vector<std::unique_ptr<asio::io_context>> v;
    for (unsigned i = 0; i < n; ++i) {
      v.push_back(std::make_unique<asio::io_context>(1));  // concurrency hint: one thread
    }
    return v;
  }

  void accept() {
    const size_t k = next_io++ % ios.size();
    asio::io_context& io = *ios[k];
    IdleSweep& sweep = *sweeps[k];
    acceptor.async_accept(
        io.get_executor(), [this, &io, &sweep](beast::error_code ec, Socket socket) {
          if (ec == asio::error::operation_aborted) {
            return;  // stopping
          }
          if (!ec) {
            if (live.load(std::memory_order_relaxed) >= options.max_connections) {
              beast::error_code ignored;
              socket.close(ignored);  // over the bound: refuse by closing
            } else {
              live.fetch_add(1, std::memory_order_relaxed);
              auto session =
                  std::make_shared<Session>(std::move(socket), io, sweep, handler, options, live);
              asio::post(io, [session] { session->run(); });  // start on its own thread
            }
          }
          accept();
        });
  }

  // Declaration order matters: `ios` are destroyed before `live`, `handler` and `options`,
  // which the Sessions they may still own refer to, and after the acceptor, the guards and
  // the sweeps (whose timers belong to them; a pending wait is dropped uncalled).
  ServerOptions options;
  Handler handler;
  std::atomic<size_t> live{0};
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::unique_ptr<IdleSweep>> sweeps;  // one per io_context
  tcp::acceptor acceptor;
  size_t next_io = 0;  // only the accept handler (on ios[0]'s thread) touches it
  std::vector<std::thread> threads;
  std::atomic<bool> stopped{false};
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

Result<std::unique_ptr<Server>> Server::start(const ServerOptions& options, Handler handler) {
  std::string host;
  uint16_t port = 0;
  if (!split_host_port(options.listen, host, port)) {
    return make_error(ErrorCode::kSystem,
                      "bad listen address \"" + options.listen + "\": expected HOST:PORT");
  }
  auto impl = std::make_unique<Impl>(options, std::move(handler), std::max(1u, options.threads));
  beast::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    return make_error(ErrorCode::kSystem, "bad listen host \"" + host + "\": " + ec.message());
  }
  const tcp::endpoint ep(addr, port);
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) {
    impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    impl->acceptor.bind(ep, ec);
  }
  if (!ec) {
    impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return make_error(ErrorCode::kSystem,
                      "cannot listen on " + options.listen + ": " + ec.message(), ec.value());
  }
  impl->accept();
  for (auto& sweep : impl->sweeps) {
    sweep->arm();  // before the threads run: nothing else touches it yet
  }
  for (auto& io : impl->ios) {
    impl->threads.emplace_back([raw = io.get()] { raw->run(); });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::string Server::local_address() const {
  beast::error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  if (ec) {
    return {};
  }
  const std::string host = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
}

void Server::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) {
    return;
  }
  asio::post(*impl_->ios[0], [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
  });
  for (auto& io : impl_->ios) {
    io->stop();  // abandons open connections; their sockets close as the Sessions die
  }
  for (std::thread& t : impl_->threads) {
    if (t.joinable()) {
      t.join();
    }
  }
}

}  // namespace lqs::http
