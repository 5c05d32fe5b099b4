// Copyright lqs authors. The systems under test, behind one small interface so that every
// workload runs the same code against lqs and its peers:
//
//   create()/remove()  in the parent, before/after the children run;
//   open()             in a child;
//   send_one()         kOk | kFull (retry later) | kError;
//   send_many()        lqs: one SendMessageBatch; optional (send_many_of: a port without one
//                      sends one message per call);
//   receive()          up to `max` messages, calling on_msg(body) for each, then deleting them
//                      (lqs: DeleteMessage / DeleteMessageBatch). A peer's receive is its
//                      dequeue; it has nothing to delete.
//
// wait_s == 0 means "never park" (lqs WaitTimeSeconds=0, try_receive, a zero mq timeout);
// wait_s > 0 means park: lqs long-polls for wait_s seconds, the peers block in 100 ms slices.
#ifndef LQS_BENCH_IPC_PORTS_HPP_
#define LQS_BENCH_IPC_PORTS_HPP_

#include "lqs/lqs.hpp"

#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>

#include <fcntl.h>
#include <mqueue.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lqs::bench {

enum class SendStatus { kOk, kFull, kError };

/// Everything a system needs to create or open one channel.
struct ChannelSpec {
  std::string lqs_root;    ///< lqs shm root directory
  std::string name;        ///< unique per run: lqs queue name / Boost name / POSIX "/name"
  size_t max_msg = 0;      ///< largest body
  uint32_t depth = 0;      ///< peers: max messages queued; lqs: capacity_messages
  uint64_t lqs_bytes = 0;  ///< lqs: capacity_bytes
  std::string server;      ///< server peers: Unix socket path or loopback port (peers.hpp)
  int fds[2] = {-1, -1};   ///< uds: the socketpair, inherited by the children
};

/// Peers without a batch API: one send_one per body not yet done; stops at the first "full".
template <typename Port>
bool send_each(Port& port, std::span<const std::string_view> bodies, std::span<bool> done,
               std::string& err);

/// The port's own send_many (a batch API, or pipelining) where it has one, else send_each.
template <typename Port>
bool send_many_of(Port& port, std::span<const std::string_view> bodies, std::span<bool> done,
                  std::string& err) {
  if constexpr (requires { port.send_many(bodies, done, err); }) {
    return port.send_many(bodies, done, err);
  } else {
    return send_each(port, bodies, done, err);
  }
}

template <typename Port>
bool send_each(Port& port, std::span<const std::string_view> bodies, std::span<bool> done,
               std::string& err) {
  for (size_t i = 0; i < bodies.size(); ++i) {
    if (done[i]) {
      continue;
    }
    SendStatus s = port.send_one(bodies[i], err);
    if (s == SendStatus::kError) {
      return false;
    }
    if (s == SendStatus::kFull) {
      return true;
    }
    done[i] = true;
  }
  return true;
}

// ---- lqs ------------------------------------------------------------------------------------
class LqsPort {
 public:
  static constexpr const char* kName = "lqs";

  static lqs::QueueLocation location(const ChannelSpec& c) {
    lqs::QueueLocation loc;
    loc.shm_root = c.lqs_root;
    loc.name = c.name;
    return loc;
  }
  static bool create(const ChannelSpec& c, std::string& err) {
    lqs::QueueAttributes a;
    a.capacity_messages = c.depth;
    a.capacity_bytes = c.lqs_bytes;
    a.maximum_message_size = 1048576;
    auto q = lqs::Queue::create(location(c), a);
    if (!q) {
      err = "lqs create: " + std::string(lqs::to_string(q.error().code)) + ": " + q.error().message;
      return false;
    }
    return true;
  }
  static void remove(const ChannelSpec& c) { (void)lqs::Queue::remove(location(c)); }
  /// Nothing to do: create() reserves the segment with fallocate.
  static bool prefault(const ChannelSpec& /*c*/, std::string& /*err*/) { return true; }

  bool open(const ChannelSpec& c, std::string& err) {
    auto q = lqs::Queue::open(location(c));
    if (!q) {
      err = "lqs open: " + std::string(lqs::to_string(q.error().code)) + ": " + q.error().message;
      return false;
    }
    q_.emplace(std::move(q).value());
    return true;
  }

  SendStatus send_one(std::string_view body, std::string& err) {
    lqs::SendRequest r;
    r.body = body;
    auto res = q_->send(r);
    if (res) {
      return SendStatus::kOk;
    }
    if (res.error().code == lqs::ErrorCode::kQueueFull) {
      return SendStatus::kFull;
    }
    err = "lqs send: " + std::string(lqs::to_string(res.error().code)) + ": " + res.error().message;
    return SendStatus::kError;
  }

  /// Sends bodies[i] for every i with !done[i]; sets done[i] for those accepted. Returns false
  /// on an error other than kQueueFull.
  bool send_many(std::span<const std::string_view> bodies, std::span<bool> done, std::string& err) {
    reqs_.clear();
    map_.clear();
    for (size_t i = 0; i < bodies.size(); ++i) {
      if (!done[i]) {
        lqs::SendRequest r;
        r.body = bodies[i];
        reqs_.push_back(r);
        map_.push_back(i);
      }
    }
    if (reqs_.empty()) {
      return true;
    }
    auto whole = q_->send_batch(reqs_, results_);
    if (!whole) {
      err = "lqs send_batch: " + std::string(lqs::to_string(whole.error().code)) + ": " +
            whole.error().message;
      return false;
    }
    for (size_t k = 0; k < results_.size() && k < map_.size(); ++k) {
      if (results_[k]) {
        done[map_[k]] = true;
      } else if (results_[k].error().code != lqs::ErrorCode::kQueueFull) {
        err = "lqs send_batch entry: " + std::string(lqs::to_string(results_[k].error().code)) +
              ": " + results_[k].error().message;
        return false;
      }
    }
    return true;
  }

  /// Returns the number of messages handled, or -1 on error.
  template <typename OnMsg>
  int receive(int max, int wait_s, bool batch_delete, OnMsg&& on_msg, std::string& err) {
    if (opts_.max_number_of_messages != max || opts_.wait_time_s != wait_s) {
      opts_.max_number_of_messages = max;
      opts_.wait_time_s = wait_s;
    }
    auto r = q_->receive(batch_, opts_);
    if (!r) {
      err =
          "lqs receive: " + std::string(lqs::to_string(r.error().code)) + ": " + r.error().message;
      return -1;
    }
    const size_t n = batch_.count;
    for (size_t i = 0; i < n; ++i) {
      on_msg(std::string_view(batch_.messages[i].body));
    }
    if (n == 0) {
      return 0;
    }
    if (batch_delete && n > 1) {
      handles_.clear();
      for (size_t i = 0; i < n; ++i) {
        handles_.emplace_back(batch_.messages[i].receipt_handle);
      }
      auto d = q_->delete_batch(handles_, del_results_);
      if (!d) {
        err = "lqs delete_batch: " + std::string(lqs::to_string(d.error().code)) + ": " +
              d.error().message;
        return -1;
      }
      for (const auto& e : del_results_) {
        if (!e) {
          err = "lqs delete_batch entry: " + std::string(lqs::to_string(e.error().code)) + ": " +
                e.error().message;
          return -1;
        }
      }
    } else {
      for (size_t i = 0; i < n; ++i) {
        auto d = q_->delete_message(batch_.messages[i].receipt_handle);
        if (!d) {
          err = "lqs delete: " + std::string(lqs::to_string(d.error().code)) + ": " +
                d.error().message;
          return -1;
        }
      }
    }
    return static_cast<int>(n);
  }

  lqs::Queue& queue() { return *q_; }

 private:
  std::optional<lqs::Queue> q_;
  lqs::ReceiveOptions opts_;
  lqs::ReceiveBatch batch_;
  std::vector<lqs::SendRequest> reqs_;
  std::vector<size_t> map_;
  std::vector<lqs::Result<lqs::SendResult>> results_;
  std::vector<std::string_view> handles_;
  std::vector<lqs::Result<void>> del_results_;
};

// ---- Boost.Interprocess message_queue ---------------------------------------------------------
class BoostPort {
 public:
  static constexpr const char* kName = "boost_mq";
  using Mq = boost::interprocess::message_queue;

  static bool create(const ChannelSpec& c, std::string& err) {
    try {
      Mq::remove(c.name.c_str());
      Mq mq(boost::interprocess::create_only, c.name.c_str(), c.depth, c.max_msg);
    } catch (const std::exception& e) {
      err = std::string("boost message_queue create: ") + e.what();
      return false;
    }
    return true;
  }
  static void remove(const ChannelSpec& c) { Mq::remove(c.name.c_str()); }
  /// The segment is created sparse (ftruncate): fill every slot once so the measured run does
  /// not pay for allocating and zeroing fresh pages (lqs reserves its pages with fallocate).
  static bool prefault(const ChannelSpec& c, std::string& err) {
    try {
      Mq mq(boost::interprocess::open_only, c.name.c_str());
      std::vector<char> buf(c.max_msg, 'x');
      for (uint32_t i = 0; i < c.depth; ++i) {
        if (!mq.try_send(buf.data(), buf.size(), 0)) {
          break;
        }
      }
      Mq::size_type got = 0;
      unsigned prio = 0;
      while (mq.try_receive(buf.data(), buf.size(), got, prio)) {
      }
    } catch (const std::exception& e) {
      err = std::string("boost message_queue prefault: ") + e.what();
      return false;
    }
    return true;
  }

  bool open(const ChannelSpec& c, std::string& err) {
    try {
      mq_ = std::make_unique<Mq>(boost::interprocess::open_only, c.name.c_str());
    } catch (const std::exception& e) {
      err = std::string("boost message_queue open: ") + e.what();
      return false;
    }
    buf_.resize(c.max_msg);
    return true;
  }

  SendStatus send_one(std::string_view body, std::string& err) {
    try {
      if (mq_->timed_send(body.data(), body.size(), 0, deadline())) {
        return SendStatus::kOk;
      }
      return SendStatus::kFull;
    } catch (const std::exception& e) {
      err = std::string("boost send: ") + e.what();
      return SendStatus::kError;
    }
  }

  template <typename OnMsg>
  int receive(int max, int wait_s, bool /*batch_delete*/, OnMsg&& on_msg, std::string& err) {
    int n = 0;
    try {
      while (n < max) {
        Mq::size_type got = 0;
        unsigned prio = 0;
        bool ok = (n == 0 && wait_s > 0)
                      ? mq_->timed_receive(buf_.data(), buf_.size(), got, prio, deadline())
                      : mq_->try_receive(buf_.data(), buf_.size(), got, prio);
        if (!ok) {
          break;
        }
        on_msg(std::string_view(buf_.data(), got));
        ++n;
      }
    } catch (const std::exception& e) {
      err = std::string("boost receive: ") + e.what();
      return -1;
    }
    return n;
  }

 private:
  static boost::posix_time::ptime deadline() {
    return boost::posix_time::microsec_clock::universal_time() +
           boost::posix_time::milliseconds(100);
  }
  std::unique_ptr<Mq> mq_;
  std::vector<char> buf_;
};

// ---- POSIX mq ---------------------------------------------------------------------------------
class PosixMqPort {
 public:
  static constexpr const char* kName = "posix_mq";

  static std::string mq_name(const ChannelSpec& c) { return "/" + c.name; }
  static bool create(const ChannelSpec& c, std::string& err) {
    mq_attr attr{};
    attr.mq_maxmsg = static_cast<long>(c.depth);
    attr.mq_msgsize = static_cast<long>(c.max_msg);
    const std::string n = mq_name(c);
    (void)mq_unlink(n.c_str());
    mqd_t q = mq_open(n.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (q == static_cast<mqd_t>(-1)) {
      err = "mq_open(" + n + ", maxmsg " + std::to_string(c.depth) + ", msgsize " +
            std::to_string(c.max_msg) +
            "): " + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
      return false;
    }
    (void)mq_close(q);
    return true;
  }
  static void remove(const ChannelSpec& c) { (void)mq_unlink(mq_name(c).c_str()); }
  /// Nothing to do: the kernel allocates each message when it is sent.
  static bool prefault(const ChannelSpec& /*c*/, std::string& /*err*/) { return true; }

  PosixMqPort() = default;
  PosixMqPort(const PosixMqPort&) = delete;
  PosixMqPort& operator=(const PosixMqPort&) = delete;
  ~PosixMqPort() {
    if (q_ != static_cast<mqd_t>(-1)) {
      (void)mq_close(q_);
    }
  }

  bool open(const ChannelSpec& c, std::string& err) {
    q_ = mq_open(mq_name(c).c_str(), O_RDWR);
    if (q_ == static_cast<mqd_t>(-1)) {
      err =
          "mq_open(" + mq_name(c) + "): " + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
      return false;
    }
    mq_attr attr{};
    (void)mq_getattr(q_, &attr);
    buf_.resize(static_cast<size_t>(attr.mq_msgsize));
    return true;
  }

  SendStatus send_one(std::string_view body, std::string& err) {
    timespec ts = deadline();
    if (mq_timedsend(q_, body.data(), body.size(), 0, &ts) == 0) {
      return SendStatus::kOk;
    }
    if (errno == ETIMEDOUT || errno == EAGAIN || errno == EINTR) {
      return SendStatus::kFull;
    }
    err = std::string("mq_timedsend: ") + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
    return SendStatus::kError;
  }

  template <typename OnMsg>
  int receive(int max, int wait_s, bool /*batch_delete*/, OnMsg&& on_msg, std::string& err) {
    int n = 0;
    while (n < max) {
      timespec ts = (n == 0 && wait_s > 0) ? deadline() : timespec{0, 0};
      ssize_t got = mq_timedreceive(q_, buf_.data(), buf_.size(), nullptr, &ts);
      if (got < 0) {
        if (errno == ETIMEDOUT || errno == EAGAIN || errno == EINTR) {
          break;
        }
        err = std::string("mq_timedreceive: ") +
              std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
        return -1;
      }
      on_msg(std::string_view(buf_.data(), static_cast<size_t>(got)));
      ++n;
    }
    return n;
  }

 private:
  static timespec deadline() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100'000'000;
    if (ts.tv_nsec >= 1'000'000'000) {
      ts.tv_nsec -= 1'000'000'000;
      ++ts.tv_sec;
    }
    return ts;
  }
  mqd_t q_ = static_cast<mqd_t>(-1);
  std::vector<char> buf_;
};

}  // namespace lqs::bench

#endif  // LQS_BENCH_IPC_PORTS_HPP_
