// Copyright lqs authors. The workloads of lqs-bench: what the producer and consumer children
// do, written once as templates over a port (ports.hpp), so every system runs the same code.
//
// Body layout (ASCII, so lqs's message-text validation accepts it and every system copies the
// same bytes): [0,16) hex of (producer << 48 | sequence), [16,32) hex of the CLOCK_MONOTONIC
// send stamp in ns, then 'x' up to the message size (at least 64 bytes).
#ifndef LQS_BENCH_IPC_WORKLOADS_HPP_
#define LQS_BENCH_IPC_WORKLOADS_HPP_

#include "harness.hpp"
#include "histogram.hpp"
#include "ports.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace lqs::bench {

inline constexpr int kMaxChildren = 8;
inline constexpr int kMaxReps = 16;
inline constexpr uint64_t kSeqMask = (uint64_t{1} << 48) - 1;
inline constexpr uint64_t kSentinelId = ~uint64_t{0};     // "producer done" wake-up message
inline constexpr int64_t kIdleNs = 2'000'000'000;         // consumer gives up this long after the
                                                          // last message once producers are done
inline constexpr int64_t kAckTimeoutNs = 5'000'000'000;   // latency producer: no ack → lost
inline constexpr int64_t kFullGiveUpNs = 10'000'000'000;  // producer: full this long past the cap

enum class Kind { kThroughput, kLatencySpin, kLatencyParked, kOpenLoop, kExpiry, kMemory };

/// Ports whose queue has no bound of its own (Redis, beanstalkd): producers hold them to the
/// channel's depth by flow control (sent - consumed <= depth), as the bounded systems are.
template <typename Port>
constexpr bool kUnboundedPort = requires {
  requires Port::kUnbounded;
};
/// Ports whose children must leave through exit(), not _exit() (iceoryx deregisters then).
template <typename Port>
constexpr bool kExitNormallyPort = requires {
  requires Port::kExitNormally;
};

/// Tells a port that needs it (iceoryx) whether this process publishes or subscribes.
template <typename Port>
void set_port_role(Port& port, bool producer) {
  if constexpr (requires { port.set_role(producer); }) {
    port.set_role(producer);
  }
}

struct RunSpec {
  std::string workload;
  Kind kind = Kind::kThroughput;
  size_t msg_size = 64;
  int producers = 1;
  int consumers = 1;
  bool batched = false;
  uint64_t messages = 0;        // total over all producers (expiry: cycles per phase)
  uint64_t warmup = 0;          // latency: the first `warmup` messages are not recorded
  int64_t duration_cap_ns = 0;  // producers stop sending after this long
  int64_t park_interval_ns = 50'000;
  double offered_rate = 0;  // open loop: messages per second, sends scheduled in advance
  uint64_t expiry_in_flight_small = 100;
  uint64_t expiry_in_flight_big = 100'000;
  int expiry_reps = 3;
};

struct alignas(64) ChildSlot {
  std::atomic<uint64_t> progress{0};  // consumers: messages handled so far (own cache line)
  alignas(64) uint64_t sent = 0;
  uint64_t handled = 0;
  uint64_t bad = 0;           // malformed, out-of-range or wrong-size bodies
  uint64_t full_retries = 0;  // producer: sends refused as full and retried
  uint64_t empty_receives = 0;
  int64_t t_first = 0;        // producer: start; consumer: first message
  int64_t t_last = 0;         // producer: end; consumer: last message
  uint64_t vol_switches = 0;  // consumer: voluntary context switches (parks) during the run
  int failed = 0;
  bool idle_exit = false;  // consumer stopped on the idle timeout (messages missing)
  char err[240] = {};
  // expiry: ns per cycle, per rep and phase (0: small in-flight, 1: big in-flight)
  double expiry_ns[2][kMaxReps] = {};
  uint64_t expiry_in_flight[2] = {};
  LatencyHistogram hist;
};

struct Control {
  alignas(64) std::atomic<int> ready{0};
  alignas(64) std::atomic<int> go{0};
  std::atomic<int64_t> go_ns{0};
  alignas(64) std::atomic<int> abort{0};
  alignas(64) std::atomic<int> producers_done{0};
  std::atomic<uint64_t> total_sent{0};
  alignas(64) std::atomic<uint64_t> enqueued{0};  // unbounded ports: messages sent so far
  alignas(64) std::atomic<uint64_t> ack{0};
  ChildSlot slots[kMaxChildren];
};

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// Voluntary context switches of this process so far: a consumer parked in a futex or in the
/// kernel switches out voluntarily; spinning (even with sched_yield on an idle CPU) does not.
inline uint64_t voluntary_switches() noexcept {
  rusage ru{};
  (void)getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_nvcsw);
}

inline void put_hex16(char* p, uint64_t v) noexcept {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    p[i] = kDigits[v & 0xf];
    v >>= 4;
  }
}

inline bool get_hex16(const char* p, uint64_t& v) noexcept {
  uint64_t r = 0;
  for (int i = 0; i < 16; ++i) {
    const char c = p[i];
    uint64_t d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return false;
    }
    r = (r << 4) | d;
  }
  v = r;
  return true;
}

inline void stamp_body(std::string& body, uint64_t id) noexcept {
  put_hex16(body.data(), id);
  put_hex16(body.data() + 16, static_cast<uint64_t>(now_ns()));
}

inline void set_error(ChildSlot& slot, const std::string& msg) noexcept {
  slot.failed = 1;
  std::snprintf(slot.err, sizeof slot.err, "%s", msg.c_str());
}

/// Spins until the parent says go (returns true) or aborts / 60 s pass (false).
inline bool wait_for_go(Control& ctl) noexcept {
  const int64_t give_up = now_ns() + 60'000'000'000;
  uint32_t spins = 0;
  while (ctl.go.load(std::memory_order_acquire) == 0) {
    if (ctl.abort.load(std::memory_order_relaxed) != 0) {
      return false;
    }
    if ((++spins & 1023) == 0) {
      if (now_ns() > give_up) {
        return false;
      }
      sched_yield();
    }
    cpu_relax();
  }
  return ctl.abort.load(std::memory_order_relaxed) == 0;
}

inline uint64_t per_producer(const RunSpec& s, int p) {
  const auto np = static_cast<uint64_t>(s.producers);
  return s.messages / np + (static_cast<uint64_t>(p) < s.messages % np ? 1 : 0);
}
inline uint64_t seen_stride(const RunSpec& s) {
  const auto np = static_cast<uint64_t>(s.producers);
  return (s.messages + np - 1) / np;
}

// ---- producer -------------------------------------------------------------------------------
template <typename Port>
int producer_main(const RunSpec& s, const ChannelSpec& c, Control& ctl, int slot_index, int p) {
  ChildSlot& slot = ctl.slots[slot_index];
  Port port;
  std::string err;
  set_port_role(port, true);
  if (!port.open(c, err)) {
    set_error(slot, err);
    ctl.abort.store(1);
    ctl.ready.fetch_add(1);
    return 1;
  }
  const size_t width = s.batched ? 10 : 1;
  std::vector<std::string> bodies(width, std::string(std::max<size_t>(s.msg_size, 32), 'x'));
  std::vector<std::string_view> views(width);
  bool done[10] = {};
  const uint64_t n = per_producer(s, p);
  const uint64_t id_base = static_cast<uint64_t>(p) << 48;
  ctl.ready.fetch_add(1);
  if (!wait_for_go(ctl)) {
    ctl.producers_done.fetch_add(1);
    return 0;
  }
  const int64_t go = ctl.go_ns.load();
  slot.t_first = now_ns();
  uint64_t sent = 0;
  int64_t last_ack = slot.t_first;
  bool ok = true;

  // The queue is full: count it, yield, and give up (as an error) once the queue has stayed
  // full well past the duration cap: the consumer is stuck or messages leak.
  auto backoff = [&]() -> bool {
    if ((++slot.full_retries & 1023) == 0 && now_ns() - go > s.duration_cap_ns + kFullGiveUpNs) {
      set_error(slot, "queue still full " + std::to_string(kFullGiveUpNs / 1000000000) +
                          " s after the duration cap (" + std::to_string(sent) +
                          " sent; consumer stuck?)");
      ctl.abort.store(1);
      return false;
    }
    if (ctl.abort.load(std::memory_order_relaxed) != 0) {
      return false;
    }
    sched_yield();
    return true;
  };

  // Unbounded ports: wait until `k` more messages fit in the channel's depth.
  auto window = [&](uint64_t k) -> bool {
    if constexpr (kUnboundedPort<Port>) {
      while (true) {
        uint64_t consumed = 0;
        for (int i = 0; i < s.consumers; ++i) {
          consumed += ctl.slots[s.producers + i].progress.load(std::memory_order_acquire);
        }
        if (ctl.enqueued.load(std::memory_order_acquire) + k <= consumed + c.depth) {
          return true;
        }
        if (!backoff()) {
          return false;
        }
        usleep(50);  // leave the CPU to the server: it shares the 2 cores with us
      }
    }
    (void)k;
    return true;
  };
  auto count_enqueued = [&](uint64_t k) {
    if constexpr (kUnboundedPort<Port>) {
      ctl.enqueued.fetch_add(k, std::memory_order_acq_rel);
    }
    (void)k;
  };

  auto send_retrying = [&](std::string_view body) -> bool {
    if (!window(1)) {
      return false;
    }
    while (true) {
      SendStatus st = port.send_one(body, err);
      if (st == SendStatus::kOk) {
        count_enqueued(1);
        return true;
      }
      if (st == SendStatus::kError) {
        set_error(slot, err);
        ctl.abort.store(1);
        return false;
      }
      if (!backoff()) {
        return false;
      }
    }
  };

  if (s.kind == Kind::kThroughput && !s.batched) {
    for (uint64_t seq = 0; seq < n && ok; ++seq) {
      if ((seq & 255) == 0 &&
          (now_ns() - go > s.duration_cap_ns || ctl.abort.load(std::memory_order_relaxed) != 0)) {
        break;
      }
      stamp_body(bodies[0], id_base | seq);
      ok = send_retrying(bodies[0]);
      sent += ok ? 1 : 0;
    }
  } else if (s.kind == Kind::kThroughput) {
    for (uint64_t seq = 0; seq < n && ok; seq += width) {
      if ((seq & 255) < width &&
          (now_ns() - go > s.duration_cap_ns || ctl.abort.load(std::memory_order_relaxed) != 0)) {
        break;
      }
      const size_t k = static_cast<size_t>(std::min<uint64_t>(width, n - seq));
      for (size_t i = 0; i < k; ++i) {
        stamp_body(bodies[i], id_base | (seq + i));
        views[i] = bodies[i];
        done[i] = false;
      }
      if (!window(k)) {
        ok = false;
        break;
      }
      while (true) {
        if (!send_many_of(port, std::span<const std::string_view>(views.data(), k),
                          std::span<bool>(done, k), err)) {
          set_error(slot, err);
          ctl.abort.store(1);
          ok = false;
          break;
        }
        if (std::all_of(done, done + k, [](bool d) { return d; })) {
          break;
        }
        if (!backoff()) {
          ok = false;
          break;
        }
      }
      const auto accepted = static_cast<uint64_t>(std::count(done, done + k, true));
      count_enqueued(accepted);
      sent += accepted;
    }
  } else if (s.kind == Kind::kOpenLoop) {
    // Send times are fixed in advance (start + seq / rate) and the body carries the scheduled
    // time, not the time the send happened: a system that falls behind is charged for the wait
    // of every message scheduled meanwhile (no coordinated omission).
    const double gap_ns = 1e9 / s.offered_rate;
    const int64_t start = now_ns() + 1'000'000;
    for (uint64_t seq = 0; seq < n && ok; ++seq) {
      const int64_t due = start + static_cast<int64_t>(static_cast<double>(seq) * gap_ns);
      if ((seq & 255) == 0 &&
          (now_ns() - go > s.duration_cap_ns || ctl.abort.load(std::memory_order_relaxed) != 0)) {
        break;
      }
      int64_t t = now_ns();
      if (due - t > 200'000) {  // far ahead: sleep most of it, spin the rest
        const int64_t wake = due - 150'000;
        timespec ts{static_cast<time_t>(wake / 1'000'000'000),
                    static_cast<long>(wake % 1'000'000'000)};
        (void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
      }
      while ((t = now_ns()) < due) {
        cpu_relax();
      }
      put_hex16(bodies[0].data(), id_base | seq);
      put_hex16(bodies[0].data() + 16, static_cast<uint64_t>(due));
      ok = send_retrying(bodies[0]);
      sent += ok ? 1 : 0;
    }
  } else {  // latency: one message in flight at a time
    for (uint64_t seq = 0; seq < n && ok; ++seq) {
      if ((seq & 63) == 0 &&
          (now_ns() - go > s.duration_cap_ns || ctl.abort.load(std::memory_order_relaxed) != 0)) {
        break;
      }
      if (s.kind == Kind::kLatencyParked) {
        while (now_ns() - last_ack < s.park_interval_ns) {
          cpu_relax();
        }
      }
      stamp_body(bodies[0], id_base | seq);
      const int64_t t_send = now_ns();
      ok = send_retrying(bodies[0]);
      if (!ok) {
        break;
      }
      ++sent;
      uint32_t spins = 0;
      while (ctl.ack.load(std::memory_order_acquire) < sent) {
        cpu_relax();
        if ((++spins & 4095) == 0) {
          if (ctl.abort.load(std::memory_order_relaxed) != 0) {
            ok = false;
            break;
          }
          if (now_ns() - t_send > kAckTimeoutNs) {
            set_error(slot, "no acknowledgement 5 s after sending message " + std::to_string(seq) +
                                " (lost?)");
            ctl.abort.store(1);
            ok = false;
            break;
          }
        }
      }
      last_ack = now_ns();
    }
  }
  slot.sent = sent;
  slot.t_last = now_ns();
  ctl.total_sent.fetch_add(sent);
  ctl.producers_done.fetch_add(1);
  // Wake the consumers: a consumer parked in a long poll would otherwise sleep up to its wait
  // time (20 s for latency_parked) before it sees that everything was sent. Sentinels are not
  // counted; one consumer may get several and another none (it then wakes on its timeout).
  if (ctl.abort.load() == 0) {
    bodies[0].assign(bodies[0].size(), 'x');
    put_hex16(bodies[0].data(), kSentinelId);
    for (int i = 0; i < s.consumers; ++i) {
      if (port.send_one(bodies[0], err) != SendStatus::kOk) {
        break;
      }
    }
  }
  return slot.failed;
}

// ---- consumer -------------------------------------------------------------------------------
template <typename Port>
int consumer_main(const RunSpec& s, const ChannelSpec& c, Control& ctl, int slot_index,
                  int consumer_index, uint8_t* seen_all) {
  ChildSlot& slot = ctl.slots[slot_index];
  Port port;
  std::string err;
  set_port_role(port, false);
  if (!port.open(c, err)) {
    set_error(slot, err);
    ctl.abort.store(1);
    ctl.ready.fetch_add(1);
    return 1;
  }
  const uint64_t stride = seen_stride(s);
  uint8_t* seen = seen_all + static_cast<uint64_t>(consumer_index) * stride *
                                 static_cast<uint64_t>(s.producers);
  const bool latency = s.kind == Kind::kLatencySpin || s.kind == Kind::kLatencyParked;
  const bool record = latency || s.kind == Kind::kOpenLoop;
  const int max = s.batched ? 10 : 1;
  const int wait_s = s.kind == Kind::kLatencySpin ? 0 : s.kind == Kind::kLatencyParked ? 20 : 1;
  const int first_consumer_slot = slot_index - consumer_index;
  uint64_t handled = 0;
  uint64_t bad = 0;

  auto on_msg = [&](std::string_view b) {
    const int64_t t = record ? now_ns() : 0;
    uint64_t id = 0;
    uint64_t stamp = 0;
    if (b.size() >= 16 && get_hex16(b.data(), id) && id == kSentinelId) {
      return;
    }
    if (b.size() < 32 || !get_hex16(b.data(), id) || !get_hex16(b.data() + 16, stamp)) {
      ++bad;
      return;
    }
    const uint64_t p = id >> 48;
    const uint64_t seq = id & kSeqMask;
    if (p >= static_cast<uint64_t>(s.producers) || seq >= stride) {
      ++bad;
      return;
    }
    uint8_t& cnt = seen[p * stride + seq];
    if (cnt < 255) {
      ++cnt;
    }
    if (b.size() != s.msg_size) {
      ++bad;
    }
    if (record && seq >= s.warmup) {
      slot.hist.record(t - static_cast<int64_t>(stamp));
    }
    ++handled;
  };

  ctl.ready.fetch_add(1);
  if (!wait_for_go(ctl)) {
    return 0;
  }
  const uint64_t vcsw0 = voluntary_switches();
  int64_t last_msg = now_ns();
  while (true) {
    const int got = port.receive(max, wait_s, s.batched, on_msg, err);
    if (got < 0) {
      set_error(slot, err);
      ctl.abort.store(1);
      break;
    }
    if (got > 0) {
      last_msg = now_ns();
      if (slot.t_first == 0) {
        slot.t_first = last_msg;
      }
      slot.progress.store(handled, std::memory_order_release);
      if (latency) {
        ctl.ack.store(handled, std::memory_order_release);
      }
    } else {
      ++slot.empty_receives;
    }
    if (ctl.abort.load(std::memory_order_relaxed) != 0) {
      break;
    }
    if (ctl.producers_done.load(std::memory_order_acquire) == s.producers) {
      const uint64_t total = ctl.total_sent.load(std::memory_order_acquire);
      uint64_t sum = 0;
      for (int i = 0; i < s.consumers; ++i) {
        sum += ctl.slots[first_consumer_slot + i].progress.load(std::memory_order_acquire);
      }
      if (sum >= total) {
        break;
      }
      if (got == 0 && now_ns() - last_msg > kIdleNs) {
        slot.idle_exit = true;
        break;
      }
    }
  }
  slot.vol_switches = voluntary_switches() - vcsw0;
  slot.t_last = last_msg;
  slot.handled = handled;
  slot.bad = bad;
  return slot.failed;
}

// ---- expiry (lqs only) ------------------------------------------------------------------------
/// Puts `count` messages in flight on `port`'s queue: sends them, then receives them with a
/// 12 h visibility timeout and never deletes them.
inline bool fill_in_flight(LqsPort& port, uint64_t count, size_t msg_size, std::string& err) {
  std::string body(msg_size, 'x');
  std::vector<std::string> bodies(10, body);
  std::vector<std::string_view> views(10);
  bool done[10] = {};
  uint64_t sent = 0;
  while (sent < count) {
    const size_t k = static_cast<size_t>(std::min<uint64_t>(10, count - sent));
    for (size_t i = 0; i < k; ++i) {
      put_hex16(bodies[i].data(), (uint64_t{7} << 48) | (sent + i));
      put_hex16(bodies[i].data() + 16, 0);
      views[i] = bodies[i];
      done[i] = false;
    }
    if (!port.send_many(std::span<const std::string_view>(views.data(), k),
                        std::span<bool>(done, k), err)) {
      return false;
    }
    if (!std::all_of(done, done + k, [](bool d) { return d; })) {
      err = "queue full while filling " + std::to_string(count) + " in-flight messages";
      return false;
    }
    sent += k;
  }
  lqs::ReceiveOptions o;
  o.max_number_of_messages = 10;
  o.wait_time_s = 0;
  o.visibility_timeout_s = 43200;
  lqs::ReceiveBatch b;
  uint64_t leased = 0;
  while (leased < count) {
    auto r = port.queue().receive(b, o);
    if (!r) {
      err = "receive while filling: " + r.error().message;
      return false;
    }
    if (b.count == 0) {
      err = "only " + std::to_string(leased) + " of " + std::to_string(count) +
            " messages could be leased";
      return false;
    }
    leased += b.count;
  }
  return true;
}

/// One phase: `cycles` × (send 1, receive 1, delete 1). Returns ns per cycle, or < 0 on error.
inline double expiry_cycles(LqsPort& port, uint64_t cycles, size_t msg_size, std::string& err,
                            uint64_t& bad) {
  std::string body(msg_size, 'x');
  uint64_t expect = 0;
  uint64_t got_id = 0;
  auto on_msg = [&](std::string_view b) {
    if (b.size() < 32 || !get_hex16(b.data(), got_id) || got_id != expect) {
      ++bad;
    }
  };
  const int64_t t0 = now_ns();
  for (uint64_t i = 0; i < cycles; ++i) {
    expect = (uint64_t{9} << 48) | i;
    stamp_body(body, expect);
    SendStatus st = port.send_one(body, err);
    if (st != SendStatus::kOk) {
      if (st == SendStatus::kFull) {
        err = "queue full during expiry cycles";
      }
      return -1;
    }
    const int n = port.receive(1, 0, false, on_msg, err);
    if (n < 0) {
      return -1;
    }
    if (n != 1) {
      ++bad;
    }
  }
  return static_cast<double>(now_ns() - t0) / static_cast<double>(cycles);
}

inline int expiry_main(const RunSpec& s, const ChannelSpec& small, const ChannelSpec& big,
                       Control& ctl) {
  ChildSlot& slot = ctl.slots[0];
  LqsPort ps;
  LqsPort pb;
  std::string err;
  if (!ps.open(small, err) || !pb.open(big, err) ||
      !fill_in_flight(ps, s.expiry_in_flight_small, s.msg_size, err) ||
      !fill_in_flight(pb, s.expiry_in_flight_big, s.msg_size, err)) {
    set_error(slot, err);
    return 1;
  }
  slot.expiry_in_flight[0] = ps.queue().counts().in_flight;
  slot.expiry_in_flight[1] = pb.queue().counts().in_flight;
  // Warm both up (page faults, caches) before measuring.
  uint64_t bad = 0;
  if (expiry_cycles(ps, std::min<uint64_t>(s.messages, 2000), s.msg_size, err, bad) < 0 ||
      expiry_cycles(pb, std::min<uint64_t>(s.messages, 2000), s.msg_size, err, bad) < 0) {
    set_error(slot, err);
    return 1;
  }
  const int reps = std::clamp(s.expiry_reps, 1, kMaxReps);
  for (int r = 0; r < reps; ++r) {
    // Alternate the order so drift in the machine does not favour one phase.
    for (int k = 0; k < 2; ++k) {
      const int phase = (r % 2 == 0) ? k : 1 - k;
      LqsPort& port = phase == 0 ? ps : pb;
      const double ns = expiry_cycles(port, s.messages, s.msg_size, err, bad);
      if (ns < 0) {
        set_error(slot, err);
        return 1;
      }
      slot.expiry_ns[phase][r] = ns;
    }
  }
  slot.bad = bad;
  slot.handled = static_cast<uint64_t>(reps) * 2 * s.messages;
  return 0;
}

}  // namespace lqs::bench

#endif  // LQS_BENCH_IPC_WORKLOADS_HPP_
