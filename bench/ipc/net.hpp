// Copyright lqs authors. A small blocking socket client for the server peers of lqs-bench
// (Redis over RESP, beanstalkd over its text protocol): connect to a Unix socket or a loopback
// TCP port, write whole buffers, read lines and exact byte counts through one buffer.
//
// Written for the benchmark, not as a general client: one request/reply stream per connection,
// replies read in order (pipelining = write several requests, then read as many replies).
#ifndef LQS_BENCH_IPC_NET_HPP_
#define LQS_BENCH_IPC_NET_HPP_

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace lqs::bench {

class Conn {
 public:
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { close(); }

  void close() noexcept {
    if (fd_ >= 0) {
      (void)::close(fd_);
      fd_ = -1;
    }
    head_ = tail_ = 0;
  }
  bool is_open() const noexcept { return fd_ >= 0; }

  /// `addr` is either a Unix socket path (starts with '/') or a loopback TCP port number.
  bool connect_to(const std::string& addr, std::string& err) {
    close();
    if (!addr.empty() && addr[0] == '/') {
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      if (addr.size() >= sizeof sa.sun_path) {
        err = "socket path too long: " + addr;
        return false;
      }
      std::memcpy(sa.sun_path, addr.data(), addr.size());
      fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        err = "connect " + addr + ": " + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
        close();
        return false;
      }
    } else {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(static_cast<uint16_t>(std::atoi(addr.c_str())));
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        err = "connect 127.0.0.1:" + addr + ": " +
              std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
        close();
        return false;
      }
      int one = 1;
      (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (buf_.size() < 65536) {
      buf_.resize(65536);
    }
    return true;
  }

  bool write_all(std::string_view data, std::string& err) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        err = std::string("send: ") + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  /// The next line without its "\r\n". The view lives until the next read call.
  bool read_line(std::string_view& line, std::string& err) {
    size_t off = 0;  // unread bytes already scanned (offset from head_: fill() may move data)
    while (true) {
      for (size_t i = head_ + off; i + 1 < tail_; ++i) {
        if (buf_[i] == '\r' && buf_[i + 1] == '\n') {
          line = std::string_view(buf_.data() + head_, i - head_);
          head_ = i + 2;
          return true;
        }
      }
      off = tail_ > head_ ? tail_ - head_ - 1 : 0;
      if (!fill(tail_ - head_ + 1, err)) {
        return false;
      }
    }
  }

  /// Exactly `n` bytes. The view lives until the next read call.
  bool read_exact(size_t n, std::string_view& out, std::string& err) {
    if (tail_ - head_ < n && !fill(n, err)) {
      return false;
    }
    out = std::string_view(buf_.data() + head_, n);
    head_ += n;
    return true;
  }

 private:
  /// Reads until at least `want` unread bytes are buffered.
  bool fill(size_t want, std::string& err) {
    if (head_ > 0 && (tail_ == head_ || buf_.size() - head_ < want)) {
      std::memmove(buf_.data(), buf_.data() + head_, tail_ - head_);
      tail_ -= head_;
      head_ = 0;
    }
    if (buf_.size() - head_ < want) {
      buf_.resize(head_ + want + 4096);
    }
    while (tail_ - head_ < want) {
      const ssize_t n = ::recv(fd_, buf_.data() + tail_, buf_.size() - tail_, 0);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        err = n == 0 ? std::string("connection closed by the server")
                     : std::string("recv: ") + std::strerror(errno);  // NOLINT
        return false;
      }
      tail_ += static_cast<size_t>(n);
    }
    return true;
  }

  int fd_ = -1;
  std::vector<char> buf_;
  size_t head_ = 0;
  size_t tail_ = 0;
};

// ---- RESP (Redis) ---------------------------------------------------------------------------
/// One RESP reply. Strings are copied out of the connection's buffer; `elems` keeps its
/// capacity when the object is reused.
struct RespValue {
  char type = 0;  ///< '+' simple, '-' error, ':' integer, '$' bulk, '*' array
  bool null = false;
  int64_t integer = 0;
  std::string str;
  std::vector<RespValue> elems;
  size_t count = 0;  ///< arrays: elems[0..count) are this reply's
};

class Resp {
 public:
  bool connect_to(const std::string& addr, std::string& err) { return conn_.connect_to(addr, err); }

  /// Appends one command to the pending output.
  void add(std::initializer_list<std::string_view> args) {
    out_ += '*';
    out_ += std::to_string(args.size());
    out_ += "\r\n";
    for (std::string_view a : args) {
      add_arg(a);
    }
  }
  /// Appends a command with a variable tail: head args, then every element of `tail`.
  template <typename Range>
  void add(std::initializer_list<std::string_view> head, const Range& tail, size_t tail_count) {
    out_ += '*';
    out_ += std::to_string(head.size() + tail_count);
    out_ += "\r\n";
    for (std::string_view a : head) {
      add_arg(a);
    }
    size_t i = 0;
    for (const auto& a : tail) {
      if (i++ == tail_count) {
        break;
      }
      add_arg(a);
    }
  }
  bool flush(std::string& err) {
    const bool ok = conn_.write_all(out_, err);
    out_.clear();
    return ok;
  }
  /// Reads one reply into `v`. A server error ('-') is returned as type '-' (not a failure).
  bool read(RespValue& v, std::string& err) { return read_value(v, err, 0); }

  /// Sends one command and reads its reply; an error reply becomes a failure.
  bool call(std::initializer_list<std::string_view> args, RespValue& v, std::string& err) {
    add(args);
    if (!flush(err) || !read(v, err)) {
      return false;
    }
    if (v.type == '-') {
      err = "redis: " + v.str;
      return false;
    }
    return true;
  }

 private:
  void add_arg(std::string_view a) {
    out_ += '$';
    out_ += std::to_string(a.size());
    out_ += "\r\n";
    out_.append(a);
    out_ += "\r\n";
  }

  bool read_value(RespValue& v, std::string& err, int depth) {
    std::string_view line;
    if (!conn_.read_line(line, err)) {
      return false;
    }
    if (line.empty()) {
      err = "redis: empty reply line";
      return false;
    }
    v.type = line[0];
    v.null = false;
    v.count = 0;
    const std::string_view rest = line.substr(1);
    switch (v.type) {
      case '+':
      case '-':
        v.str.assign(rest);
        return true;
      case ':':
        v.integer = std::strtoll(std::string(rest).c_str(), nullptr, 10);
        return true;
      case '$': {
        const long long n = std::strtoll(std::string(rest).c_str(), nullptr, 10);
        if (n < 0) {
          v.null = true;
          v.str.clear();
          return true;
        }
        std::string_view body;
        if (!conn_.read_exact(static_cast<size_t>(n) + 2, body, err)) {
          return false;
        }
        v.str.assign(body.substr(0, static_cast<size_t>(n)));
        return true;
      }
      case '*': {
        const long long n = std::strtoll(std::string(rest).c_str(), nullptr, 10);
        if (n < 0) {
          v.null = true;
          return true;
        }
        if (depth > 8) {
          err = "redis: reply nested too deep";
          return false;
        }
        if (v.elems.size() < static_cast<size_t>(n)) {
          v.elems.resize(static_cast<size_t>(n));
        }
        for (long long i = 0; i < n; ++i) {
          if (!read_value(v.elems[static_cast<size_t>(i)], err, depth + 1)) {
            return false;
          }
        }
        v.count = static_cast<size_t>(n);
        return true;
      }
      default:
        err = "redis: unexpected reply '" + std::string(line.substr(0, 40)) + "'";
        return false;
    }
  }

  Conn conn_;
  std::string out_;
};

}  // namespace lqs::bench

#endif  // LQS_BENCH_IPC_NET_HPP_
