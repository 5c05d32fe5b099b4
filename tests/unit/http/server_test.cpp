// Copyright lqs authors. The HTTP server on a loopback port with real sockets: several I/O
// threads, keep-alive connections from several client threads at once, answers given by the
// handler itself and answers given later from another thread (as lqsd's long poller does).
// Labelled `threads`, so the TSan preset runs it over the server's threading.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace lqs::http {
namespace {

using namespace std::chrono_literals;

// Answers queued by the handler, given from this thread a little later.
class LateAnswers {
 public:
  LateAnswers() : thread_([this] { loop(); }) {}
  ~LateAnswers() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  LateAnswers(const LateAnswers&) = delete;
  LateAnswers& operator=(const LateAnswers&) = delete;

  void add(Respond respond, std::string body) {
    {
      std::lock_guard lock(mu_);
      pending_.emplace_back(std::move(respond), std::move(body));
    }
    cv_.notify_all();
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
      if (pending_.empty()) {
        return;  // stopping, and nothing left to answer
      }
      auto [respond, body] = std::move(pending_.front());
      pending_.pop_front();
      lock.unlock();
      std::this_thread::sleep_for(100us);
      respond(Response{200, "text/plain", "later:" + body, {}});
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<Respond, std::string>> pending_;
  bool stop_ = false;
  std::thread thread_;
};

// A blocking HTTP/1.1 client on one keep-alive connection.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    // A missing answer fails the test in 10 s instead of hanging it.
    timeval tv{};
    tv.tv_sec = 10;
    ok_ = ok_ && ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool ok() const { return ok_; }

  // Sends one POST and reads its answer's status and body; false on any I/O or parse error.
  bool post(const std::string& target, const std::string& body, int& status, std::string& out) {
    const std::string req = "POST " + target + " HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    for (size_t sent = 0; sent < req.size();) {
      const ssize_t n = ::send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    size_t end = std::string::npos;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return false;
    }
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    if (head.size() < 12 || head.compare(0, 9, "HTTP/1.1 ") != 0) return false;
    status = std::stoi(head.substr(9, 3));
    const auto cl = head.find("Content-Length: ");
    if (cl == std::string::npos) return false;
    const size_t len = std::stoul(head.substr(cl + 16));
    while (buf_.size() < len) {
      if (!fill()) return false;
    }
    out = buf_.substr(0, len);
    buf_.erase(0, len);
    return true;
  }

 private:
  bool fill() {
    char tmp[4096];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  bool ok_ = false;
  std::string buf_;
};

uint16_t port_of(const Server& s) {
  const std::string a = s.local_address();
  return static_cast<uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
}

TEST(HttpServerTest, AnswersNowAndLaterOnManyConnectionsOverSeveralThreads) {
  LateAnswers later;
  std::atomic<int> handled{0};
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  auto server = Server::start(o, [&](const Request& r, Respond respond) {
    handled.fetch_add(1, std::memory_order_relaxed);
    if (r.target == "/later") {
      later.add(std::move(respond), r.body);
    } else {
      respond(Response{200, "text/plain", "now:" + r.body, {}});
    }
  });
  ASSERT_TRUE(server) << server.error().message;
  const uint16_t port = port_of(**server);

  constexpr int kClients = 6;
  constexpr int kRequests = 150;
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      Client cl(port);
      if (!cl.ok()) return;
      for (int i = 0; i < kRequests; ++i) {
        // Every third answer comes later, from the other thread; the rest at once.
        const bool late = i % 3 == 0;
        const std::string body = std::to_string(c) + "-" + std::to_string(i);
        int status = 0;
        std::string got;
        if (!cl.post(late ? "/later" : "/now", body, status, got)) return;
        if (status == 200 && got == (late ? "later:" : "now:") + body) {
          good.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good.load(), kClients * kRequests);  // every answer, in order, on its connection
  EXPECT_EQ(handled.load(), kClients * kRequests);
  (*server)->stop();
}

TEST(HttpServerTest, ATooLargeBodyIs413AndTheServerKeepsServing) {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  o.max_body_bytes = 1024;
  auto server = Server::start(o, [](const Request& r, Respond respond) {
    respond(Response{200, "text/plain", r.body, {}});
  });
  ASSERT_TRUE(server) << server.error().message;
  const uint16_t port = port_of(**server);
  {
    Client big(port);
    ASSERT_TRUE(big.ok());
    int status = 0;
    std::string got;
    ASSERT_TRUE(big.post("/", std::string(2048, 'x'), status, got));
    EXPECT_EQ(status, 413);
  }
  Client next(port);
  ASSERT_TRUE(next.ok());
  int status = 0;
  std::string got;
  ASSERT_TRUE(next.post("/", "fine", status, got));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(got, "fine");
  (*server)->stop();
}

// The bytes on the wire: status line and headers as the server formats them, no body and no
// Content-Length for a 204, pipelined requests (sent in one write) answered in order, a body
// larger than the first read, and "Connection: close" honoured with a close after the answer.
TEST(HttpServerTest, AnswersAreExactBytesInOrderForPipelinedRequests) {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 1;
  auto server = Server::start(o, [](const Request& r, Respond respond) {
    if (r.target == "/h") {
      respond(Response{201, "application/x", "abc", {{"x-one", "1"}}});
    } else if (r.target == "/204") {
      respond(Response{204, "text/plain", "dropped", {}});
    } else {
      respond(Response{200, "text/plain", r.body, {}});
    }
  });
  ASSERT_TRUE(server) << server.error().message;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port_of(**server));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{};
  tv.tv_sec = 10;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  std::string big(100000, 'b');
  for (size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  const std::string req =
      "POST /h HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
      "POST /204 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
      "POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" +
      big + "POST /e HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
  for (size_t sent = 0; sent < req.size();) {
    const ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    sent += static_cast<size_t>(n);
  }
  std::string got;
  for (;;) {
    char tmp[65536];
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    ASSERT_GE(n, 0) << "no close after Connection: close (or a timeout)";
    if (n == 0) break;
    got.append(tmp, static_cast<size_t>(n));
  }
  ::close(fd);
  const std::string expected =
      "HTTP/1.1 201 Created\r\nServer: lqsd\r\nContent-Type: application/x\r\nx-one: 1\r\n"
      "Content-Length: 3\r\n\r\nabc"
      "HTTP/1.1 204 No Content\r\nServer: lqsd\r\nContent-Type: text/plain\r\n\r\n"
      "HTTP/1.1 200 OK\r\nServer: lqsd\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n"
      "\r\n" +
      big +
      "HTTP/1.1 200 OK\r\nServer: lqsd\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\nok";
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << got.substr(0, 400);
  (*server)->stop();
}

// The idle timeout bounds each read and write, not the handler: a request trickling in is cut
// off after it, while an answer given later than it (a long poll) still arrives.
TEST(HttpServerTest, IdleTimeoutCutsOffSlowRequestsButNotSlowAnswers) {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 1;
  o.idle_timeout = std::chrono::seconds(1);
  std::mutex mu;
  std::vector<Respond> later;
  auto server = Server::start(o, [&](const Request&, Respond respond) {
    std::lock_guard lock(mu);
    later.push_back(std::move(respond));
  });
  ASSERT_TRUE(server) << server.error().message;
  const uint16_t port = port_of(**server);
  std::thread answer([&] {
    std::this_thread::sleep_for(1800ms);  // past the idle timeout
    std::lock_guard lock(mu);
    for (Respond& r : later) r(Response{200, "text/plain", "late", {}});
    later.clear();  // their sessions' references go while the server runs
  });
  Client patient(port);
  ASSERT_TRUE(patient.ok());
  const int slow = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(slow, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string part = "POST / HTTP/1.1\r\nHost: t\r\n";
  ASSERT_EQ(::send(slow, part.data(), part.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(part.size()));
  const auto t0 = std::chrono::steady_clock::now();
  std::thread cut([&] {
    timeval tv{};
    tv.tv_sec = 10;
    (void)::setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[64];
    EXPECT_EQ(::recv(slow, buf, sizeof buf, 0), 0) << "not closed";  // an orderly close
    const auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(waited, 900ms);
    EXPECT_LT(waited, 5s);
  });
  int status = 0;
  std::string got;
  ASSERT_TRUE(patient.post("/", "x", status, got));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(got, "late");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1500ms);
  cut.join();
  answer.join();
  ::close(slow);
  (*server)->stop();
}

}  // namespace
}  // namespace lqs::http
