// Copyright lqs authors. The socket and server peers of lqs-bench, behind the same interface as
// ports.hpp (create/remove/prefault in the parent; open/send_one/send_many/receive in a child):
//
//   uds              a SOCK_SEQPACKET socketpair made by the parent and inherited by the children
//                    (producers write one end, consumers read the other; one message per
//                    packet); "full" is the sender's socket buffer.
//   redis_list       Redis 7 reliable queue: LPUSH; BLMOVE/LMOVE into a per-consumer processing
//                    list (the lease); LREM of the body from it (the delete).
//   redis_list_aof   the same on a Redis with appendonly yes + appendfsync always.
//   redis_stream     Redis 7 stream with a consumer group: XADD; XREADGROUP (the lease, in the
//                    group's pending list); XACK + XDEL (the delete). create() runs an XAUTOCLAIM
//                    reclaim check: a message read by a consumer that never acks it is claimed
//                    by another, the stand-in for a visibility timeout.
//   beanstalkd       put (TTR 60 s) / reserve-with-timeout (the lease) / delete.
//   beanstalkd_fsync the same with a binlog fsynced on every write (-b dir -f0).
//
// The servers are started by servers.cpp; keys and tubes are named after the run's channel.
// Redis and beanstalkd queues are unbounded: the workloads hold them to the same depth as the
// others by flow control (kUnbounded).
#ifndef LQS_BENCH_IPC_PEERS_HPP_
#define LQS_BENCH_IPC_PEERS_HPP_

#include "net.hpp"
#include "ports.hpp"
#include "servers.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lqs::bench {

/// Looks up (starting it on first use) the server of `kind` for a port's create().
inline bool attach_server(const std::string& kind, ChannelSpec& c, std::string& err) {
  const ServerInfo& s = ensure_server(kind);
  if (!s.running) {
    err = kind + ": " + s.error;
    return false;
  }
  c.server = s.addr;
  return true;
}

// ---- Unix domain socket ---------------------------------------------------------------------
class UdsPort {
 public:
  static constexpr const char* kName = "uds";

  static bool create(ChannelSpec& c, std::string& err) {
    int fds[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
      err = std::string("socketpair: ") + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
      return false;
    }
    c.fds[0] = fds[0];
    c.fds[1] = fds[1];
    // Room for `depth` messages (each packet also costs its skb, ~1 KiB), and at least two of
    // the largest. Above net.core.wmem_max only SO_SNDBUFFORCE (CAP_NET_ADMIN) can set it.
    const uint64_t want64 = std::max<uint64_t>(uint64_t{c.depth} * (c.max_msg + 1024),
                                               2 * (uint64_t{c.max_msg} + 4096));
    int want = static_cast<int>(std::min<uint64_t>(want64, uint64_t{1} << 30));
    if (setsockopt(fds[0], SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want) != 0) {
      (void)setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
    }
    int got = 0;
    socklen_t len = sizeof got;
    (void)getsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &got, &len);
    if (static_cast<uint64_t>(got) < uint64_t{c.max_msg} + 1024) {
      err = "uds: socket send buffer " + std::to_string(got) + " bytes < one message of " +
            std::to_string(c.max_msg) + " (no CAP_NET_ADMIN for SO_SNDBUFFORCE)";
      remove(c);
      return false;
    }
    // A full buffer blocks the sender for at most 100 ms (then "full": the producer retries),
    // like the 100 ms timed sends of the other peers.
    timeval tv{0, 100'000};
    (void)setsockopt(fds[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return true;
  }
  static void remove(const ChannelSpec& c) {
    for (int fd : c.fds) {
      if (fd >= 0) {
        (void)close(fd);
      }
    }
  }
  static bool prefault(const ChannelSpec& /*c*/, std::string& /*err*/) { return true; }

  bool open(const ChannelSpec& c, std::string& /*err*/) {
    tx_ = c.fds[0];
    rx_ = c.fds[1];
    buf_.resize(c.max_msg + 1);
    return true;
  }

  SendStatus send_one(std::string_view body, std::string& err) {
    const ssize_t n = send(tx_, body.data(), body.size(), MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(body.size())) {
      return SendStatus::kOk;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOBUFS)) {
      return SendStatus::kFull;
    }
    err = "uds send: " + (n < 0 ? std::string(std::strerror(errno))  // NOLINT
                                : "short send " + std::to_string(n));
    return SendStatus::kError;
  }

  template <typename OnMsg>
  int receive(int max, int wait_s, bool /*batch_delete*/, OnMsg&& on_msg, std::string& err) {
    int n = 0;
    while (n < max) {
      if (n == 0 && wait_s > 0) {
        pollfd p{rx_, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) {
          break;
        }
      }
      const ssize_t got = recv(rx_, buf_.data(), buf_.size(), MSG_DONTWAIT);
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
          break;
        }
        err = std::string("uds recv: ") + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
        return -1;
      }
      on_msg(std::string_view(buf_.data(), static_cast<size_t>(got)));
      ++n;
    }
    return n;
  }

 private:
  int tx_ = -1;
  int rx_ = -1;
  std::vector<char> buf_;
};

// ---- Redis lists: the reliable-queue pattern --------------------------------------------------
template <bool kAof>
class RedisListPort {
 public:
  static constexpr const char* kName = kAof ? "redis_list_aof" : "redis_list";
  static constexpr bool kUnbounded = true;
  static constexpr const char* kServer = kAof ? "redis_aof" : "redis";

  static bool create(ChannelSpec& c, std::string& err) { return attach_server(kServer, c, err); }
  /// The server is ours: dropping everything also drops the consumers' processing lists.
  static void remove(const ChannelSpec& c) {
    Resp r;
    RespValue v;
    std::string err;
    if (r.connect_to(c.server, err)) {
      (void)r.call({"FLUSHALL"}, v, err);
    }
  }
  static bool prefault(const ChannelSpec& /*c*/, std::string& /*err*/) { return true; }

  bool open(const ChannelSpec& c, std::string& err) {
    key_ = "q:" + c.name;
    processing_ = "p:" + c.name + ":" + std::to_string(getpid());
    return r_.connect_to(c.server, err);
  }

  SendStatus send_one(std::string_view body, std::string& err) {
    return r_.call({"LPUSH", key_, body}, v_, err) ? SendStatus::kOk : SendStatus::kError;
  }
  /// One LPUSH with every body: Redis's own batch.
  bool send_many(std::span<const std::string_view> bodies, std::span<bool> done, std::string& err) {
    pending_.clear();
    for (size_t i = 0; i < bodies.size(); ++i) {
      if (!done[i]) {
        pending_.push_back(bodies[i]);
      }
    }
    if (pending_.empty()) {
      return true;
    }
    r_.add({"LPUSH", key_}, pending_, pending_.size());
    if (!r_.flush(err) || !r_.read(v_, err) || v_.type == '-') {
      err = v_.type == '-' ? "redis LPUSH: " + v_.str : err;
      return false;
    }
    std::fill(done.begin(), done.end(), true);
    return true;
  }

  /// BLMOVE (wait_s > 0, 100 ms) or LMOVE for the first, pipelined LMOVEs for the rest; then
  /// the deletes: one pipelined LREM per message.
  template <typename OnMsg>
  int receive(int max, int wait_s, bool /*batch_delete*/, OnMsg&& on_msg, std::string& err) {
    if (wait_s > 0) {
      r_.add({"BLMOVE", key_, processing_, "RIGHT", "LEFT", "0.1"});
    } else {
      r_.add({"LMOVE", key_, processing_, "RIGHT", "LEFT"});
    }
    for (int i = 1; i < max; ++i) {
      r_.add({"LMOVE", key_, processing_, "RIGHT", "LEFT"});
    }
    if (!r_.flush(err)) {
      return -1;
    }
    bodies_.resize(static_cast<size_t>(max));
    int n = 0;
    for (int i = 0; i < max; ++i) {
      if (!r_.read(v_, err)) {
        return -1;
      }
      if (v_.type == '-') {
        err = "redis LMOVE: " + v_.str;
        return -1;
      }
      if (!v_.null) {
        bodies_[static_cast<size_t>(n++)].swap(v_.str);
      }
    }
    for (int i = 0; i < n; ++i) {
      on_msg(std::string_view(bodies_[static_cast<size_t>(i)]));
      r_.add({"LREM", processing_, "1", bodies_[static_cast<size_t>(i)]});
    }
    if (n == 0) {
      return 0;
    }
    if (!r_.flush(err)) {
      return -1;
    }
    for (int i = 0; i < n; ++i) {
      if (!r_.read(v_, err)) {
        return -1;
      }
      if (v_.type != ':' || v_.integer != 1) {
        err = "redis LREM removed " + std::to_string(v_.integer) + " (expected 1) " + v_.str;
        return -1;
      }
    }
    return n;
  }

 private:
  Resp r_;
  RespValue v_;
  std::string key_;
  std::string processing_;
  std::vector<std::string_view> pending_;
  std::vector<std::string> bodies_;
};

// ---- Redis streams with a consumer group ------------------------------------------------------
class RedisStreamPort {
 public:
  static constexpr const char* kName = "redis_stream";
  static constexpr bool kUnbounded = true;

  static bool create(ChannelSpec& c, std::string& err) {
    if (!attach_server("redis", c, err)) {
      return false;
    }
    Resp r;
    RespValue v;
    const std::string key = "s:" + c.name;
    if (!r.connect_to(c.server, err) ||
        !r.call({"XGROUP", "CREATE", key, "g", "$", "MKSTREAM"}, v, err)) {
      return false;
    }
    return reclaim_check(r, key, err);
  }
  static void remove(const ChannelSpec& c) { RedisListPort<false>::remove(c); }
  static bool prefault(const ChannelSpec& /*c*/, std::string& /*err*/) { return true; }

  bool open(const ChannelSpec& c, std::string& err) {
    key_ = "s:" + c.name;
    consumer_ = "c" + std::to_string(getpid());
    return r_.connect_to(c.server, err);
  }

  SendStatus send_one(std::string_view body, std::string& err) {
    return r_.call({"XADD", key_, "*", "b", body}, v_, err) ? SendStatus::kOk : SendStatus::kError;
  }
  /// Streams have no multi-entry XADD: k XADDs pipelined in one write.
  bool send_many(std::span<const std::string_view> bodies, std::span<bool> done, std::string& err) {
    size_t k = 0;
    for (size_t i = 0; i < bodies.size(); ++i) {
      if (!done[i]) {
        r_.add({"XADD", key_, "*", "b", bodies[i]});
        ++k;
      }
    }
    if (k == 0) {
      return true;
    }
    if (!r_.flush(err)) {
      return false;
    }
    for (size_t i = 0; i < k; ++i) {
      if (!r_.read(v_, err)) {
        return false;
      }
      if (v_.type == '-') {
        err = "redis XADD: " + v_.str;
        return false;
      }
    }
    std::fill(done.begin(), done.end(), true);
    return true;
  }

  /// XREADGROUP (BLOCK 100 ms when wait_s > 0), then one XACK and one XDEL for all the ids,
  /// pipelined.
  template <typename OnMsg>
  int receive(int max, int wait_s, bool /*batch_delete*/, OnMsg&& on_msg, std::string& err) {
    const std::string count = std::to_string(max);
    if (wait_s > 0) {
      r_.add({"XREADGROUP", "GROUP", "g", consumer_, "COUNT", count, "BLOCK", "100", "STREAMS",
              key_, ">"});
    } else {
      r_.add({"XREADGROUP", "GROUP", "g", consumer_, "COUNT", count, "STREAMS", key_, ">"});
    }
    if (!r_.flush(err) || !r_.read(v_, err)) {
      return -1;
    }
    if (v_.type == '-') {
      err = "redis XREADGROUP: " + v_.str;
      return -1;
    }
    if (v_.null || v_.count == 0) {
      return 0;
    }
    // [[key, [[id, [field, value]], ...]]]
    const RespValue& entries = v_.elems[0].elems[1];
    ids_.clear();
    for (size_t i = 0; i < entries.count; ++i) {
      const RespValue& e = entries.elems[i];
      ids_.emplace_back(e.elems[0].str);
      on_msg(std::string_view(e.elems[1].elems[1].str));
    }
    const size_t n = ids_.size();
    if (n == 0) {
      return 0;
    }
    r_.add({"XACK", key_, "g"}, ids_, n);
    r_.add({"XDEL", key_}, ids_, n);
    if (!r_.flush(err) || !r_.read(v_, err)) {
      return -1;
    }
    if (v_.type != ':' || v_.integer != static_cast<int64_t>(n)) {
      err = "redis XACK acknowledged " + std::to_string(v_.integer) + " of " + std::to_string(n);
      return -1;
    }
    if (!r_.read(v_, err)) {
      return -1;
    }
    return static_cast<int>(n);
  }

 private:
  /// A message read by a consumer that then "crashes" (never acks) must be claimable by another
  /// with XAUTOCLAIM; then it is acked and deleted, leaving the stream empty.
  static bool reclaim_check(Resp& r, const std::string& key, std::string& err) {
    RespValue v;
    if (!r.call({"XADD", key, "*", "b", "reclaim-probe"}, v, err)) {
      return false;
    }
    const std::string id = v.str;
    if (!r.call({"XREADGROUP", "GROUP", "g", "crashed", "COUNT", "1", "STREAMS", key, ">"}, v,
                err)) {
      return false;
    }
    // XAUTOCLAIM key group consumer min-idle-time start COUNT n -> [next, [[id, fields]], deleted]
    if (!r.call({"XAUTOCLAIM", key, "g", "rescuer", "0", "0-0", "COUNT", "10"}, v, err)) {
      return false;
    }
    if (v.count < 2 || v.elems[1].count != 1 || v.elems[1].elems[0].elems[0].str != id) {
      err = "redis XAUTOCLAIM reclaim check: the unacknowledged probe " + id + " was not claimed";
      return false;
    }
    if (!r.call({"XACK", key, "g", id}, v, err) || v.integer != 1 ||
        !r.call({"XDEL", key, id}, v, err) ||
        !r.call({"XGROUP", "DELCONSUMER", key, "g", "crashed"}, v, err) ||
        !r.call({"XGROUP", "DELCONSUMER", key, "g", "rescuer"}, v, err)) {
      err = err.empty() ? "redis XACK of the reclaimed probe failed" : err;
      return false;
    }
    return true;
  }

  Resp r_;
  RespValue v_;
  std::string key_;
  std::string consumer_;
  std::vector<std::string> ids_;
};

// ---- beanstalkd -------------------------------------------------------------------------------
template <bool kFsync>
class BeanstalkPort {
 public:
  static constexpr const char* kName = kFsync ? "beanstalkd_fsync" : "beanstalkd";
  static constexpr bool kUnbounded = true;

  static bool create(ChannelSpec& c, std::string& err) {
    return attach_server(kFsync ? "beanstalkd_fsync" : "beanstalkd", c, err);
  }
  /// Nothing to drop: a tube disappears when it is empty and nobody watches it; the tube name
  /// is unique to the run and the server is ours.
  static void remove(const ChannelSpec& /*c*/) {}
  static bool prefault(const ChannelSpec& /*c*/, std::string& /*err*/) { return true; }

  bool open(const ChannelSpec& c, std::string& err) {
    if (!conn_.connect_to(c.server, err)) {
      return false;
    }
    const std::string cmds = "use " + c.name + "\r\nwatch " + c.name + "\r\nignore default\r\n";
    return conn_.write_all(cmds, err) && expect_line("USING", err) &&
           expect_line("WATCHING", err) && expect_line("WATCHING", err);
  }

  SendStatus send_one(std::string_view body, std::string& err) {
    out_.clear();
    add_put(body);
    return conn_.write_all(out_, err) && expect_line("INSERTED", err) ? SendStatus::kOk
                                                                      : SendStatus::kError;
  }
  /// k puts pipelined in one write.
  bool send_many(std::span<const std::string_view> bodies, std::span<bool> done, std::string& err) {
    out_.clear();
    size_t k = 0;
    for (size_t i = 0; i < bodies.size(); ++i) {
      if (!done[i]) {
        add_put(bodies[i]);
        ++k;
      }
    }
    if (k == 0) {
      return true;
    }
    if (!conn_.write_all(out_, err)) {
      return false;
    }
    for (size_t i = 0; i < k; ++i) {
      if (!expect_line("INSERTED", err)) {
        return false;
      }
    }
    std::fill(done.begin(), done.end(), true);
    return true;
  }

  /// reserve-with-timeout (1 s when wait_s > 0: beanstalkd counts whole seconds, else 0) for
  /// the first, pipelined reserve-with-timeout 0 for the rest; then pipelined deletes.
  template <typename OnMsg>
  int receive(int max, int wait_s, bool /*batch_delete*/, OnMsg&& on_msg, std::string& err) {
    out_ = wait_s > 0 ? "reserve-with-timeout 1\r\n" : "reserve-with-timeout 0\r\n";
    for (int i = 1; i < max; ++i) {
      out_ += "reserve-with-timeout 0\r\n";
    }
    if (!conn_.write_all(out_, err)) {
      return -1;
    }
    ids_.clear();
    bodies_.resize(static_cast<size_t>(max));
    for (int i = 0; i < max; ++i) {
      std::string_view line;
      if (!conn_.read_line(line, err)) {
        return -1;
      }
      if (line == "TIMED_OUT" || line == "DEADLINE_SOON") {
        continue;
      }
      unsigned long long id = 0;
      size_t bytes = 0;
      if (std::sscanf(std::string(line).c_str(), "RESERVED %llu %zu", &id, &bytes) != 2) {
        err = "beanstalkd reserve: " + std::string(line.substr(0, 80));
        return -1;
      }
      std::string_view data;
      if (!conn_.read_exact(bytes + 2, data, err)) {
        return -1;
      }
      bodies_[ids_.size()].assign(data.substr(0, bytes));
      ids_.push_back(id);
    }
    const size_t n = ids_.size();
    if (n == 0) {
      return 0;
    }
    out_.clear();
    for (size_t i = 0; i < n; ++i) {
      on_msg(std::string_view(bodies_[i]));
      out_ += "delete " + std::to_string(ids_[i]) + "\r\n";
    }
    if (!conn_.write_all(out_, err)) {
      return -1;
    }
    for (size_t i = 0; i < n; ++i) {
      if (!expect_line("DELETED", err)) {
        return -1;
      }
    }
    return static_cast<int>(n);
  }

 private:
  void add_put(std::string_view body) {
    out_ += "put 0 0 60 ";
    out_ += std::to_string(body.size());
    out_ += "\r\n";
    out_.append(body);
    out_ += "\r\n";
  }
  bool expect_line(std::string_view prefix, std::string& err) {
    std::string_view line;
    if (!conn_.read_line(line, err)) {
      return false;
    }
    if (line.substr(0, prefix.size()) != prefix) {
      err = "beanstalkd: expected " + std::string(prefix) + ", got '" +
            std::string(line.substr(0, 80)) + "'";
      return false;
    }
    return true;
  }

  Conn conn_;
  std::string out_;
  std::vector<unsigned long long> ids_;
  std::vector<std::string> bodies_;
};

}  // namespace lqs::bench

#endif  // LQS_BENCH_IPC_PEERS_HPP_
