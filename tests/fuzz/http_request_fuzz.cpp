// Copyright lqs authors. Fuzz target: arbitrary bytes written to lqsd's HTTP server
// (lqs::http::Server, with lqsd's default limits: 16 KiB of headers, 2 MiB of body) over a real
// loopback connection. The server must answer what it can parse and close; it must never
// crash, hang (no answer and no close within 10 s of the client's end of input), or answer
// with a status other than the handler's 200 and the server's own 400, 413 and 431.
//
// One server per process, on 127.0.0.1:0, with a handler that answers 200 at once. Each input
// is one connection: connect, write the bytes (the server may close early: a reset is fine),
// shut down the write side (the end of the input), read until the server closes, close. The
// client's ports go through TIME_WAIT (~300 inputs/s under ASan); Linux reuses them on loopback
// (net.ipv4.tcp_tw_reuse = 2, the default), so long runs do not run out of ports.
#include "http/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace {

constexpr int kHangMs = 10'000;

struct Target {
  std::unique_ptr<lqs::http::Server> server;
  sockaddr_in addr{};
};

Target& target() {
  static Target target_once = [] {
    Target t;
    lqs::http::ServerOptions o;  // lqsd's limits, as tools/lqsd/main.cpp leaves them
    o.listen = "127.0.0.1:0";
    auto s = lqs::http::Server::start(
        o, [](const lqs::http::Request& r, const lqs::http::Respond& respond) {
          (void)r.header("X-Amz-Target");  // exercise the header lookup on whatever was parsed
          respond(lqs::http::Response{200, "text/plain", "ok\n", {}});
        });
    if (!s) {
      (void)std::fprintf(stderr, "http_request_fuzz: %s\n", s.error().message.c_str());
      std::abort();
    }
    t.server = std::move(s).value();
    const std::string a = t.server->local_address();
    const auto colon = a.rfind(':');
    t.addr.sin_family = AF_INET;
    t.addr.sin_port = htons(static_cast<uint16_t>(std::stoi(a.substr(colon + 1))));
    (void)::inet_pton(AF_INET, a.substr(0, colon).c_str(), &t.addr.sin_addr);
    return t;
  }();
  return target_once;
}

[[noreturn]] void fail(const char* what) {
  (void)std::fprintf(stderr, "http_request_fuzz: %s (errno %d: %s)\n", what, errno,
                     std::strerror(errno));  // NOLINT(concurrency-mt-unsafe): one thread
  std::abort();
}

// Waits for `events` on fd; false on timeout.
bool wait_for(int fd, short events, int ms) {
  pollfd p{fd, events, 0};
  int rc = 0;
  do {
    rc = ::poll(&p, 1, ms);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) fail("poll");
  return rc > 0;
}

// Every status line in the server's answers must carry an allowed status.
void check_statuses(std::string_view reply) {
  size_t at = 0;
  while ((at = reply.find("HTTP/1.1 ", at)) != std::string_view::npos) {
    // A status line starts the reply or follows the previous answer's body ("ok\n" or an
    // error message ending in '\n').
    if (at == 0 || reply[at - 1] == '\n') {
      const std::string_view code = reply.substr(at + 9, 3);
      if (code != "200" && code != "400" && code != "413" && code != "431") {
        (void)std::fprintf(stderr, "http_request_fuzz: status %.*s\n",
                           static_cast<int>(code.size()), code.data());
        std::abort();
      }
    }
    at += 9;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Target& t = target();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) fail("socket");
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&t.addr), sizeof t.addr) != 0 &&
      errno != EINPROGRESS) {
    fail("connect");
  }
  if (!wait_for(fd, POLLOUT, kHangMs)) fail("connect timed out");
  std::string reply;
  char buf[4096];
  auto drain = [&] {  // reads what is there; false once the server has closed
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        reply.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) return false;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) continue;
      if (errno == ECONNRESET || errno == EPIPE) return false;
      fail("recv");
    }
  };
  size_t sent = 0;
  bool open = true;
  while (sent < size && open) {
    const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;  // the server closed early
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) fail("send");
    // The server is not reading (it answers a request first, or stopped at a limit): read
    // its answers meanwhile so that neither side blocks.
    if (!wait_for(fd, POLLOUT | POLLIN, kHangMs)) fail("server stopped reading: a hang");
    open = drain();
  }
  (void)::shutdown(fd, SHUT_WR);
  while (open) {
    if (!wait_for(fd, POLLIN, kHangMs)) fail("no answer and no close: a hang");
    open = drain();
  }
  check_statuses(reply);
  (void)::close(fd);
  return 0;
}
