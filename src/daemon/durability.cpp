// Copyright lqs authors.
#include "daemon/durability.hpp"

#include "shm/segment_layout.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>

namespace lqs::daemon {
namespace {

// Record types lqsd writes (src/durability/FORMAT.md, "lqsd's records").
enum RecordType : uint16_t {
  kRecSend = 1,         // name, message
  kRecDelete = 2,       // name, message id
  kRecVisibility = 3,   // name, message id, timeout (s): informational, replay ignores it
  kRecPurge = 4,        // name
  kRecSnapBegin = 5,    // name
  kRecSnapMessage = 6,  // name, message
  kRecSnapEnd = 7,      // name, message count
  kRecQueueGone = 8,    // name
  kRecCheckpoint = 9,   // first LSN of the checkpoint
  kRecSnapDedup = 10,   // name, hash key, FIFO deduplication records (inside a snapshot)
};

// Deduplication records per kRecSnapDedup record (48 B each: well under kMaxPayload).
constexpr size_t kDedupPerRecord = 8192;

constexpr size_t kMaxEventsPerPass = 65536;
// A snapshot's scan commits what it wrote, with the journals' events, when this much is
// pending, or when a journal is a quarter full, which it looks at every kScanCheckEvery
// messages (snapshot_queue).
constexpr uint64_t kScanCommitBytes = uint64_t{8} << 20;
constexpr uint64_t kScanCheckEvery = 1024;
constexpr size_t kSkippedEntries = 65536;  // per queue, 24 B each (Tracked::skipped)
constexpr size_t kKeptRecordBytes = 256;   // drain buffers: larger records are not kept
constexpr int64_t kRefreshMs = 100;
constexpr int64_t kDedupWindowMs = int64_t{5} * 60 * 1000;
constexpr int64_t kSpinUs = 2000;      // run(): polling after the last sync event
constexpr int64_t kAsyncGatherMs = 1;  // run(): pause between passes of async-only traffic

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- encoding: little-endian, length-prefixed name first --------------------------------
class Writer {
 public:
  explicit Writer(std::vector<std::byte>& out) : out_(out) { out_.clear(); }
  void u8(uint8_t v) { raw(&v, 1); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void i64(int64_t v) { raw(&v, 8); }
  void bytes(const void* p, size_t n) { raw(p, n); }
  void name(std::string_view n) {
    u8(static_cast<uint8_t>(n.size()));
    raw(n.data(), n.size());
  }

 private:
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  std::vector<std::byte>& out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::byte> in) : in_(in) {}
  bool u8(uint8_t& v) { return raw(&v, 1); }
  bool u32(uint32_t& v) { return raw(&v, 4); }
  bool u64(uint64_t& v) { return raw(&v, 8); }
  bool i64(int64_t& v) { return raw(&v, 8); }
  bool bytes(void* p, size_t n) { return raw(p, n); }
  bool name(std::string& n) {
    uint8_t len = 0;
    if (!u8(len) || len == 0 || len > shm::kQueueNameMax || in_.size() - pos_ < len) {
      return false;
    }
    n.assign(reinterpret_cast<const char*>(in_.data() + pos_), len);
    pos_ += len;
    return true;
  }
  bool rest(std::string& s, size_t n) {
    if (in_.size() - pos_ < n) {
      return false;
    }
    s.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  [[nodiscard]] bool done() const { return pos_ == in_.size(); }

 private:
  bool raw(void* p, size_t n) {
    if (in_.size() - pos_ < n) {
      return false;
    }
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::span<const std::byte> in_;
  size_t pos_ = 0;
};

// Writes into a record the Wal has sized already (Wal::append_begin), no growth. Each record
// kind's size is computed by hand next to its fields, so debug and sanitizer builds check
// that the fields fill exactly that size.
class PlaceWriter {
 public:
  PlaceWriter(std::byte* at, size_t size) : at_(at), end_(at + size) {}
  ~PlaceWriter() { assert(at_ == end_ && "record size and fields disagree"); }
  PlaceWriter(const PlaceWriter&) = delete;
  PlaceWriter& operator=(const PlaceWriter&) = delete;
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void i64(int64_t v) { raw(&v, 8); }
  void bytes(const void* p, size_t n) { raw(p, n); }
  void name(std::string_view n) {
    const auto len = static_cast<uint8_t>(n.size());
    raw(&len, 1);
    raw(n.data(), n.size());
  }

 private:
  void raw(const void* p, size_t n) {
    assert(n <= static_cast<size_t>(end_ - at_));
    std::memcpy(at_, p, n);
    at_ += n;
  }
  std::byte* at_;
  std::byte* end_;
};

// A kRecSend / kRecSnapMessage payload: its size, and its fields.
size_t message_bytes(std::string_view queue, size_t record) {
  return 1 + queue.size() + 8 + 4 + 8 + 4 + record;
}
template <class W>
void encode_message_fields(W& w, std::string_view queue, int64_t sent_unix_ms,
                           uint32_t receive_count, uint64_t sequence, std::string_view record) {
  w.name(queue);
  w.i64(sent_unix_ms);
  w.u32(receive_count);
  w.u64(sequence);
  w.u32(static_cast<uint32_t>(record.size()));
  w.bytes(record.data(), record.size());
}

bool decode_message(Reader& r, std::string& queue, Queue::StoredMessage& m) {
  uint32_t len = 0;
  if (!r.name(queue) || !r.i64(m.sent_unix_ms) || !r.u32(m.receive_count) || !r.u64(m.sequence) ||
      !r.u32(len) || len < 16 || !r.rest(m.record, len) || !r.done()) {
    return false;
  }
  std::memcpy(m.message_id.bytes.data(), m.record.data(), 16);
  return true;
}

std::string id_key(const MessageId& id) {
  return {reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size()};
}

}  // namespace

// ---- replay: the state the log describes ---------------------------------------------------
struct DurabilityAgent::Replay {
  struct QueueState {
    bool fifo = false;
    uint64_t next_order = 0;
    std::map<uint64_t, Queue::StoredMessage> messages;  // order → message
    std::unordered_map<std::string, uint64_t> index;    // MessageId → order
    std::vector<Queue::StoredMessage> deleted;          // FIFO: for deduplication records
    // FIFO: the deduplication records of the last snapshot, and the key they are hashed with.
    std::vector<Queue::DedupRecord> dedup;
    std::array<uint8_t, 16> dedup_key{};
    bool has_dedup_key = false;
    bool snapshotting = false;
    uint64_t snap_records = 0;  // kRecSnapMessage records of the snapshot being read
    bool clean = false;         // a complete snapshot was seen
    std::unique_ptr<QueueState> staging;

    void add(const Queue::StoredMessage& m) {
      const std::string key = id_key(m.message_id);
      if (index.contains(key)) {
        return;  // logged twice (an lqsd restart before its heads advanced): idempotent
      }
      const uint64_t order = fifo ? m.sequence : ++next_order;
      messages[order] = m;
      index[key] = order;
    }
    void remove(const MessageId& id, int64_t at_ms) {
      const auto it = index.find(id_key(id));
      if (it == index.end()) {
        return;
      }
      auto m = messages.find(it->second);
      if (m != messages.end()) {
        if (fifo && m->second.sent_unix_ms + kDedupWindowMs > at_ms) {
          deleted.push_back(std::move(m->second));
          if (deleted.size() > 200'000) {  // keep the window only
            std::erase_if(deleted, [&](const Queue::StoredMessage& d) {
              return d.sent_unix_ms + kDedupWindowMs <= at_ms;
            });
          }
        }
        messages.erase(m);
      }
      index.erase(it);
    }
  };
  std::map<std::string, QueueState, std::less<>> queues;
  uint64_t bad_records = 0;

  QueueState& q(const std::string& name) {
    auto [it, inserted] = queues.try_emplace(name);
    if (inserted) {
      it->second.fifo = name.ends_with(".fifo");
    }
    return it->second;
  }

  // Applies one record; false if it is malformed (counted, skipped: the CRC matched, so it
  // is a writer's bug, not damage).
  bool apply(uint16_t type, std::span<const std::byte> payload) {
    Reader r(payload);
    std::string name;
    switch (type) {
      case kRecSend:
      case kRecSnapMessage: {
        Queue::StoredMessage m;
        if (!decode_message(r, name, m)) {
          return false;
        }
        QueueState& s = q(name);
        if (type == kRecSnapMessage && s.snapshotting) {
          s.staging->add(m);
          ++s.snap_records;
        } else {
          s.add(m);
          if (s.snapshotting) {
            s.staging->add(m);  // a send logged inside the snapshot: part of it too
          }
        }
        return true;
      }
      case kRecDelete:
      case kRecVisibility: {
        MessageId id;
        int64_t at = 0;
        if (!r.name(name) || !r.bytes(id.bytes.data(), 16) || !r.i64(at)) {
          return false;
        }
        if (type == kRecDelete) {
          QueueState& s = q(name);
          s.remove(id, at);
          if (s.snapshotting) {
            s.staging->remove(id, at);  // the scan may have copied it before the delete
          }
        }
        return true;
      }
      case kRecPurge: {
        if (!r.name(name)) {
          return false;
        }
        QueueState& s = q(name);
        for (QueueState* x : {&s, s.snapshotting ? s.staging.get() : nullptr}) {
          if (x != nullptr) {
            x->messages.clear();
            x->index.clear();
            x->deleted.clear();  // PurgeQueue clears the deduplication records too
            x->dedup.clear();
          }
        }
        return true;
      }
      case kRecSnapBegin: {
        if (!r.name(name)) {
          return false;
        }
        QueueState& s = q(name);
        s.snapshotting = true;
        s.snap_records = 0;
        s.staging = std::make_unique<QueueState>();
        s.staging->fifo = s.fifo;
        return true;
      }
      case kRecSnapEnd: {
        uint64_t count = 0;
        if (!r.name(name) || !r.u64(count)) {
          return false;
        }
        QueueState& s = q(name);
        // The count is of kRecSnapMessage records: events logged inside the snapshot change
        // the number of messages it ends with.
        if (!s.snapshotting || s.snap_records != count) {
          return false;
        }
        s.messages = std::move(s.staging->messages);
        s.index = std::move(s.staging->index);
        s.next_order = std::max(s.next_order, s.staging->next_order);
        if (s.staging->has_dedup_key) {
          // The snapshot's records cover every delete before it.
          s.dedup = std::move(s.staging->dedup);
          s.dedup_key = s.staging->dedup_key;
          s.has_dedup_key = true;
          s.deleted.clear();
        }
        s.staging.reset();
        s.snapshotting = false;
        s.clean = true;
        return true;
      }
      case kRecSnapDedup: {
        std::array<uint8_t, 16> key{};
        uint32_t count = 0;
        if (!r.name(name) || !r.bytes(key.data(), key.size()) || !r.u32(count)) {
          return false;
        }
        QueueState& s = q(name);
        if (!s.snapshotting) {
          return false;
        }
        QueueState& st = *s.staging;
        st.dedup_key = key;
        st.has_dedup_key = true;
        for (uint32_t i = 0; i < count; ++i) {
          Queue::DedupRecord d;
          if (!r.u64(d.key_lo) || !r.u64(d.key_hi) || !r.i64(d.expires_unix_ms) ||
              !r.u64(d.sequence) || !r.bytes(d.message_id.bytes.data(), 16)) {
            return false;
          }
          st.dedup.push_back(d);
        }
        return r.done();
      }
      case kRecQueueGone: {
        if (!r.name(name)) {
          return false;
        }
        queues.erase(name);
        return true;
      }
      case kRecCheckpoint:
        return true;
      default:
        return false;
    }
  }
};

struct DurabilityAgent::Tracked {
  std::string name;
  std::shared_ptr<Queue> queue;
  uint64_t read_to = 0;  // events before this ticket are appended to the log (maybe not synced)
  bool dirty = false;    // read_to moved since the last commit

  // Sends whose message was gone when we read them (deleted before lqsd got there: the usual
  // case when consumers keep up), so nothing of the message is in the log, and its delete
  // need not be either. Direct-mapped by slot; an entry overwritten or never made only means
  // the delete is logged (harmless: replay ignores a delete of an unknown message).
  //
  // Only a send at or after `skip_from` may be remembered: a message can be in the log without
  // its send event (a snapshot, or an earlier lqsd that logged the send but died before
  // freeing its cell), and then its delete must be logged. `skip_from` is the journal's tail
  // read after attaching and after each snapshot's scan: a message the scan saw live was
  // published after its send claimed its ticket, so that ticket is below the tail we read
  // (the scan's acquire load of the slot state pairs with the producer's release publish).
  struct Skipped {
    uint32_t slot = 0;
    uint32_t incarnation = 0;
    MessageId id;
    bool used = false;
  };
  std::vector<Skipped> skipped;  // allocated at the first skip
  uint64_t skip_from = 0;

  void remember_skipped(const Queue::JournalEntry& e) {
    if (e.ticket < skip_from) {
      return;
    }
    if (skipped.empty()) {
      skipped.resize(kSkippedEntries);
    }
    skipped[e.slot & (kSkippedEntries - 1)] = {e.slot, e.incarnation, e.message_id, true};
  }
  // True if `e` (a delete or visibility change) names a remembered skipped send; a delete
  // also forgets it.
  bool names_skipped(const Queue::JournalEntry& e) {
    if (skipped.empty()) {
      return false;
    }
    Skipped& k = skipped[e.slot & (kSkippedEntries - 1)];
    if (!k.used || k.slot != e.slot || k.incarnation != e.incarnation ||
        k.id.bytes != e.message_id.bytes) {
      return false;
    }
    if (e.kind == shm::kJournalDelete) {
      k.used = false;
    }
    return true;
  }
};

DurabilityAgent::DurabilityAgent(Registry& registry, DurabilityOptions options, LogFn log)
    : registry_(registry), options_(std::move(options)), log_(std::move(log)) {}

DurabilityAgent::~DurabilityAgent() {
  for (auto& [name, t] : tracked_) {
    t->queue->journal_detach();
  }
}

void DurabilityAgent::log(std::string_view event, const std::string& fields) const {
  if (log_) {
    log_("durability", event, fields);
  }
}

Result<std::unique_ptr<DurabilityAgent>> DurabilityAgent::open(Registry& registry,
                                                               const DurabilityOptions& options,
                                                               LogFn log) {
  std::unique_ptr<DurabilityAgent> a(new DurabilityAgent(registry, options, std::move(log)));
  if (options.backend_override != nullptr) {
    a->backend_ = options.backend_override;
  } else if (options.backend == "pwrite") {
    a->owned_backend_ = durability::make_pwrite_backend();
  } else if (options.backend == "io_uring" || options.backend == "auto") {
    auto u = durability::make_uring_backend();
    if (u) {
      a->owned_backend_ = std::move(u).value();
    } else if (options.backend == "auto") {
      a->log("backend_fallback", "backend=pwrite reason=\"" + u.error().message + "\"");
      a->owned_backend_ = durability::make_pwrite_backend();
    } else {
      return std::move(u).error();
    }
  } else {
    return make_error(
        ErrorCode::kInvalidParameterValue,
        "unknown durability backend " + options.backend + " (auto, io_uring or pwrite)");
  }
  if (a->backend_ == nullptr) {
    a->backend_ = a->owned_backend_.get();
  }
  a->stats_.backend = std::string(a->backend_->name());
  durability::WalOptions wo;
  wo.dir = options.wal_dir;
  wo.file_bytes = options.wal_file_bytes;
  wo.backend = a->backend_;
  durability::WalOpenReport report;
  auto wal = durability::Wal::open(wo, &report);
  if (!wal) {
    return std::move(wal).error();
  }
  a->wal_ = std::move(wal).value();
  if (report.torn_tail_truncated) {
    a->log("torn_tail_truncated", "at=" + report.torn_tail_at);
  }
  // Without a reboot to recover from, the log need not be read: the first pass writes a
  // checkpoint (a snapshot of every durable queue), which also makes whatever an earlier lqsd
  // left half done (a snapshot cut short) irrelevant, and lets older log files go.
  if (registry.recreated().empty()) {
    a->startup_checkpoint_ = true;
    a->log("wal_opened", "dir=" + options.wal_dir + " backend=" + a->stats_.backend +
                             " records=" + std::to_string(report.records) + " replay=skipped");
    return a;
  }
  // Replay the whole log: which queues it knows (clean), and what restore() puts back.
  a->replay_ = std::make_unique<Replay>();
  Replay& rp = *a->replay_;
  auto scan = durability::scan_wal(options.wal_dir, 1, durability::ScanMode::kStrict,
                                   [&rp](uint64_t, uint16_t type, std::span<const std::byte> p) {
                                     if (!rp.apply(type, p)) {
                                       ++rp.bad_records;
                                     }
                                     return true;
                                   });
  if (!scan) {
    return std::move(scan).error();
  }
  for (auto& [name, s] : rp.queues) {
    a->clean_[name] = s.clean && !s.snapshotting;
  }
  a->bytes_at_checkpoint_ = 0;
  a->log("wal_opened",
         "dir=" + options.wal_dir + " backend=" + a->stats_.backend + " records=" +
             std::to_string(report.records) + " queues=" + std::to_string(rp.queues.size()) +
             (rp.bad_records != 0 ? " malformed_records=" + std::to_string(rp.bad_records) : ""));
  return a;
}

Result<uint64_t> DurabilityAgent::restore(const std::vector<std::string>& recreated) {
  if (!replay_) {
    return uint64_t{0};
  }
  uint64_t restored = 0;
  const int64_t now = now_unix_ms();
  for (const std::string& name : recreated) {
    auto it = replay_->queues.find(name);
    if (it == replay_->queues.end()) {
      continue;
    }
    auto q = registry_.queue(name);
    if (!q) {
      continue;
    }
    const int64_t retention_ms = int64_t{q->attributes().message_retention_period_s} * 1000;
    Replay::QueueState& s = it->second;
    uint64_t n = 0;
    uint64_t expired = 0;
    // FIFO: the last snapshot's deduplication records with their hash key (before anything
    // is hashed), those of messages deleted since, then the messages in SequenceNumber order.
    if (s.has_dedup_key) {
      if (auto r = q->restore_dedup(s.dedup_key, s.dedup); !r) {
        log("restore_failed", "queue=" + name + " error=\"" + r.error().message + "\"");
      }
    }
    for (const auto& d : s.deleted) {
      Queue::StoredMessage m = d;
      m.dedup_only = true;
      (void)q->restore(m);
    }
    for (const auto& [order, m] : s.messages) {
      if (m.sent_unix_ms + retention_ms <= now) {
        ++expired;
        continue;
      }
      if (auto r = q->restore(m); !r) {
        log("restore_failed", "queue=" + name + " error=\"" + r.error().message + "\"");
        continue;
      }
      ++n;
    }
    restored += n;
    log("queue_restored", "queue=" + name + " messages=" + std::to_string(n) +
                              " retention_expired=" + std::to_string(expired));
  }
  replay_.reset();
  startup_checkpoint_ = true;  // the restored queues' new segments, and older files released
  std::lock_guard lock(stats_mu_);
  stats_.restored_messages += restored;
  return restored;
}

void DurabilityAgent::refresh_queues() {
  const std::vector<std::string> names = registry_.queue_names();
  // Gone: deleted queues, queues switched to memory, queues re-created under the same name.
  std::vector<std::byte> buf;
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    auto q = registry_.queue(it->first);
    const bool keep =
        q && q == it->second->queue && q->attributes().durability != Durability::kMemory;
    if (keep) {
      ++it;
      continue;
    }
    // Whatever was read is logged before the queue is forgotten.
    Writer w(buf);
    w.name(it->first);
    (void)wal_->append(kRecQueueGone, buf);
    it->second->queue->journal_detach();
    clean_.erase(it->first);
    it = tracked_.erase(it);
  }
  for (const std::string& name : names) {
    if (tracked_.contains(name)) {
      continue;
    }
    auto q = registry_.queue(name);
    if (!q || q->attributes().durability == Durability::kMemory) {
      continue;
    }
    if (!q->journal_attach()) {
      log("journal_busy", "queue=" + name + " reason=another_live_process_drains_it");
      continue;
    }
    auto t = std::make_unique<Tracked>();
    t->name = name;
    t->queue = q;
    t->read_to = q->journal_head();
    t->skip_from = q->journal_tail();  // after attaching: see Tracked::skip_from
    tracked_[name] = std::move(t);
  }
}

uint64_t DurabilityAgent::drain_queue(Tracked& t, size_t max_events) {
  size_t count = 0;
  const uint64_t next = t.queue->journal_read(t.read_to, max_events, events_, &count);
  uint64_t elided = 0;
  for (size_t i = 0; i < count; ++i) {
    Queue::JournalEntry& e = events_[i];
    switch (e.kind) {
      case shm::kJournalSend: {
        if (!e.has_record) {
          t.remember_skipped(e);
          continue;  // gone before we read it: its delete follows; nothing to restore
        }
        const size_t n = message_bytes(t.name, e.record.size());
        PlaceWriter w(wal_->append_begin(kRecSend, n), n);
        encode_message_fields(w, t.name, e.sent_unix_ms, e.receive_count, e.sequence, e.record);
        (void)wal_->append_end();
        if (e.record.capacity() > kKeptRecordBytes) {
          std::string().swap(e.record);  // a large message's buffer is not kept
        }
        break;
      }
      case shm::kJournalDelete:
      case shm::kJournalVisibility: {
        if (t.names_skipped(e)) {
          ++elided;  // the log never had the message
          continue;
        }
        const bool del = e.kind == shm::kJournalDelete;
        const size_t n = 1 + t.name.size() + 16 + 8 + (del ? 0 : 4);
        PlaceWriter w(wal_->append_begin(del ? kRecDelete : kRecVisibility, n), n);
        w.name(t.name);
        w.bytes(e.message_id.bytes.data(), 16);
        w.i64(e.unix_ms);
        if (!del) {
          w.u32(e.arg);
        }
        (void)wal_->append_end();
        break;
      }
      case shm::kJournalPurge: {
        const size_t n = 1 + t.name.size();
        PlaceWriter w(wal_->append_begin(kRecPurge, n), n);
        w.name(t.name);
        (void)wal_->append_end();
        break;
      }
      default:
        break;  // an unknown kind from a newer writer: skipped
    }
  }
  if (next != t.read_to) {
    t.read_to = next;
    t.dirty = true;
  }
  if (elided != 0) {
    std::lock_guard lock(stats_mu_);
    stats_.elided += elided;
  }
  return count;
}

bool DurabilityAgent::journal_filling() const {
  for (const auto& [name, x] : tracked_) {
    const Queue& q = *x->queue;
    if (q.journal_tail() - q.journal_head() >= q.journal_capacity() / 4) {
      return true;
    }
  }
  return false;
}

Result<void> DurabilityAgent::snapshot_queue(Tracked& t) {
  // Everything journaled so far goes first, then the snapshot; events after it follow.
  while (drain_queue(t, kMaxEventsPerPass) != 0) {
  }
  clean_[t.name] = false;  // until kSnapEnd is written
  if (options_.before_snapshot_scan) {
    options_.before_snapshot_scan(t.name);
  }
  std::vector<std::byte> buf;
  Writer w(buf);
  w.name(t.name);
  (void)wal_->append(kRecSnapBegin, buf);
  // During the scan no send may be remembered as skipped: the scan may have copied its
  // message before its delete (see Tracked::skip_from).
  const uint64_t skip_from = t.skip_from;
  t.skip_from = UINT64_MAX;
  uint64_t count = 0;
  bool commit_in_scan = true;
  t.queue->snapshot([&](const Queue::StoredMessage& m) {
    const size_t n = message_bytes(t.name, m.record.size());
    PlaceWriter mw(wal_->append_begin(kRecSnapMessage, n), n);
    encode_message_fields(mw, t.name, m.sent_unix_ms, m.receive_count, m.sequence, m.record);
    (void)wal_->append_end();
    ++count;
    const bool check = count % kScanCheckEvery == 0;
    if (check && options_.during_snapshot_scan) {
      options_.during_snapshot_scan(t.name, count);
    }
    // A scan of millions of messages takes longer than a busy journal takes to fill, and a
    // large write and sync at once pauses the journals too. So when kScanCommitBytes of the
    // scan's records are pending, or (looked at every kScanCheckEvery messages) a journal is
    // a quarter full, every journal's events are logged now, inside the snapshot (replay
    // applies them to the state and to the snapshot being built), and all is committed:
    // cells are freed instead of the journals overflowing into another snapshot, and the
    // pending buffer stays bounded. After a failed commit the scan only appends (the
    // caller's commit reports the error and the next pass retries).
    if (commit_in_scan &&
        (wal_->pending_bytes() > kScanCommitBytes || (check && journal_filling()))) {
      uint64_t drained = 0;
      for (auto& [name, x] : tracked_) {
        drained += drain_queue(*x, kMaxEventsPerPass);
      }
      {
        std::lock_guard lock(stats_mu_);
        stats_.events += drained;
        stats_.events_in_snapshots += drained;
      }
      commit_in_scan = commit_pass().has_value();
    }
  });
  // FIFO: the deduplication records, also those of messages already deleted (the log
  // before this checkpoint, which held their deletes, goes away).
  std::array<uint8_t, 16> key{};
  std::vector<Queue::DedupRecord> dedup;
  if (t.queue->dedup_snapshot(key, dedup)) {
    size_t at = 0;
    do {  // at least one record, so that replay learns the key even with no records
      const size_t n = std::min(kDedupPerRecord, dedup.size() - at);
      Writer dw(buf);
      dw.name(t.name);
      dw.bytes(key.data(), key.size());
      dw.u32(static_cast<uint32_t>(n));
      for (size_t i = at; i < at + n; ++i) {
        dw.u64(dedup[i].key_lo);
        dw.u64(dedup[i].key_hi);
        dw.i64(dedup[i].expires_unix_ms);
        dw.u64(dedup[i].sequence);
        dw.bytes(dedup[i].message_id.bytes.data(), 16);
      }
      (void)wal_->append(kRecSnapDedup, buf);
      at += n;
    } while (at < dedup.size());
  }
  // acquire: after the scan (its slot loads are acquire); see Tracked::skip_from.
  t.skip_from = std::max(skip_from, t.queue->journal_tail());
  Writer ew(buf);
  ew.name(t.name);
  ew.u64(count);
  (void)wal_->append(kRecSnapEnd, buf);
  clean_[t.name] = true;
  std::lock_guard lock(stats_mu_);
  ++stats_.snapshots;
  return {};
}

void DurabilityAgent::note_error(const Error& e) {
  std::lock_guard lock(stats_mu_);
  ++stats_.commit_errors;
  if (e.code == ErrorCode::kNoSpace) {
    ++stats_.no_space_errors;
  }
  stats_.last_error = e.message;
}

Result<void> DurabilityAgent::commit_pass() {
  if (wal_->pending_bytes() == 0) {
    // Nothing new to write, but heads may still move (events that produced no record).
    for (auto& [name, t] : tracked_) {
      if (t->dirty) {
        t->queue->journal_commit(t->read_to);
        t->dirty = false;
      }
    }
    return {};
  }
  auto c = wal_->commit();
  if (!c) {
    note_error(c.error());
    const int err = c.error().code == ErrorCode::kNoSpace ? ENOSPC
                    : c.error().sys_errno != 0            ? c.error().sys_errno
                                                          : EIO;
    for (auto& [name, t] : tracked_) {
      t->queue->journal_set_error(err);
    }
    failing_ = true;
    return std::move(c).error();
  }
  if (failing_) {
    for (auto& [name, t] : tracked_) {
      t->queue->journal_set_error(0);
    }
    failing_ = false;
  }
  for (auto& [name, t] : tracked_) {
    if (t->dirty) {
      t->queue->journal_commit(t->read_to);
      t->dirty = false;
    }
  }
  return {};
}

Result<uint64_t> DurabilityAgent::do_work() {
  const int64_t now = now_unix_ms();
  if (now - last_refresh_ms_ >= kRefreshMs || tracked_.empty()) {
    refresh_queues();
    last_refresh_ms_ = now;
  }
  if (startup_checkpoint_) {
    if (auto c = checkpoint(); !c) {
      return std::move(c).error();
    }
    startup_checkpoint_ = false;
  }
  uint64_t events = 0;
  bool sync = false;
  for (auto& [name, t] : tracked_) {
    const bool overflow = t->queue->journal_take_overflow();
    const auto c = clean_.find(name);
    if (overflow || c == clean_.end() || !c->second) {
      const auto t0 = std::chrono::steady_clock::now();
      const uint64_t bytes0 = wal_->stats().bytes_written + wal_->pending_bytes();
      if (auto s = snapshot_queue(*t); !s) {
        return std::move(s).error();
      }
      if (overflow) {  // events were lost: worth a line (a new queue's snapshot is not)
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - t0)
                            .count();
        log("snapshot",
            "queue=" + name + " reason=journal_overflow ms=" + std::to_string(ms) + " bytes=" +
                std::to_string(wal_->stats().bytes_written + wal_->pending_bytes() - bytes0));
      }
    }
    const uint64_t n = drain_queue(*t, kMaxEventsPerPass);
    events += n;
    if (n != 0 && t->queue->attributes().durability == Durability::kSync) {
      sync = true;
    }
  }
  sync_events_ = sync;
  if (auto c = commit_pass(); !c) {
    return std::move(c).error();
  }
  const durability::Wal::Stats ws = wal_->stats();
  {
    std::lock_guard lock(stats_mu_);
    stats_.events += events;
    stats_.durable_queues = tracked_.size();
    stats_.wal_bytes = ws.bytes_written;
    stats_.syncs = ws.syncs;
    stats_.wal_files_created = ws.files_created;
    stats_.wal_spares_used = ws.spares_used;
    stats_.wal_files_reused = ws.recycled_used;
  }
  if (ws.bytes_written - bytes_at_checkpoint_ >=
      std::max(options_.checkpoint_bytes, 2 * last_checkpoint_bytes_)) {
    if (auto c = checkpoint(); !c) {
      return std::move(c).error();
    }
  }
  return events;
}

Result<void> DurabilityAgent::checkpoint() {
  const uint64_t start = wal_->next_lsn();
  const uint64_t bytes_before = wal_->stats().bytes_written;
  for (auto& [name, t] : tracked_) {
    (void)t->queue->journal_take_overflow();  // the snapshot covers what was lost
    if (auto s = snapshot_queue(*t); !s) {
      return s;
    }
  }
  std::vector<std::byte> buf;
  Writer w(buf);
  w.u64(start);
  (void)wal_->append(kRecCheckpoint, buf);
  if (auto c = commit_pass(); !c) {
    return c;
  }
  if (auto r = wal_->release_before(start); !r) {
    note_error(r.error());
    return r;
  }
  bytes_at_checkpoint_ = wal_->stats().bytes_written;
  last_checkpoint_bytes_ = bytes_at_checkpoint_ - bytes_before;
  std::lock_guard lock(stats_mu_);
  ++stats_.checkpoints;
  stats_.last_checkpoint_bytes = last_checkpoint_bytes_;
  return {};
}

void DurabilityAgent::wait(int64_t timeout_ms, bool even_if_pending) {
  // Sleep on the doorbells of (up to 128) durable queues: a sync sender rings when it finds
  // us sleeping. Set "sleeping", re-check for pending events, then sleep.
  std::vector<struct futex_waitv> words;
  bool pending = false;
  for (auto& [name, t] : tracked_) {
    if (words.size() == 128) {
      timeout_ms = std::min<int64_t>(timeout_ms, 1);  // more queues than one wait covers
      break;
    }
    t->queue->journal_set_sleeping(true);
    const std::atomic<uint32_t>* bell = t->queue->journal_doorbell();
    struct futex_waitv w {};
    w.uaddr = reinterpret_cast<uintptr_t>(bell);
    // acquire: the value we sleep against; a ring changes it.
    w.val = bell->load(std::memory_order_acquire);
    w.flags = FUTEX_32;
    words.push_back(w);
    if (!even_if_pending && t->queue->journal_tail() != t->read_to) {
      pending = true;
    }
  }
  if (!pending && !words.empty()) {
    struct timespec ts {};
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    const int64_t ns = ts.tv_nsec + timeout_ms * 1'000'000;
    ts.tv_sec += ns / 1'000'000'000;
    ts.tv_nsec = ns % 1'000'000'000;
    (void)::syscall(SYS_futex_waitv, words.data(), static_cast<unsigned>(words.size()), 0U, &ts,
                    CLOCK_MONOTONIC);
  } else if (!pending) {
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
  }
  for (auto& [name, t] : tracked_) {
    t->queue->journal_set_sleeping(false);
  }
}

namespace {

// Keeps a spare log file ready (Wal::prepare_spare: wal_file_bytes of zeros, fsynced, renamed
// into place) on its own thread, so that when the log rolls to a new file the commit path
// renames the spare instead of zero-filling a whole file. Without it a roll stalled the agent
// for the time it takes to write 64 MiB (tens of ms here), long enough for busy journals to
// overflow. While the log keeps released files for reuse (wal.free-*, after a checkpoint),
// rolls take those and prepare_spare does nothing: a reused file costs no zero-fill at all,
// so the disk is written once per log byte instead of twice. The keeper logs nothing itself (the
// agent's LogFn is the agent thread's): the agent asks take_change() and logs.
class SpareKeeper {
 public:
  SpareKeeper(std::string dir, uint64_t file_bytes)
      : dir_(std::move(dir)), file_bytes_(file_bytes), thread_([this] { loop(); }) {}
  ~SpareKeeper() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  SpareKeeper(const SpareKeeper&) = delete;
  SpareKeeper& operator=(const SpareKeeper&) = delete;

  // A roll may have taken the spare: prepare the next one now.
  void poke() {
    {
      std::lock_guard lock(mu_);
      poked_ = true;
    }
    cv_.notify_all();
  }
  // True if the outcome of preparing changed since the last call; `error` is then the
  // failure ("" once a spare could be prepared again).
  bool take_change(std::string& error) {
    std::lock_guard lock(mu_);
    if (!changed_) {
      return false;
    }
    changed_ = false;
    error = error_;
    return true;
  }

 private:
  void loop() {
    (void)::pthread_setname_np(::pthread_self(), "lqs-wal-spare");  // for top -H, perf
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      auto r = durability::Wal::prepare_spare(dir_, file_bytes_);  // no-op while one exists
      lock.lock();
      std::string e = r ? std::string() : r.error().message;
      if (e != error_) {
        error_ = std::move(e);
        changed_ = true;
      }
      // Until a roll pokes us, or a second passes (a failure, a full disk, is retried then).
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_ || poked_; });
      poked_ = false;
    }
  }

  const std::string dir_;
  const uint64_t file_bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool poked_ = false;
  bool changed_ = false;
  std::string error_;
  std::thread thread_;  // last: started once the rest is built
};

}  // namespace

void DurabilityAgent::run(const std::atomic<bool>& stop) {
  (void)::pthread_setname_np(::pthread_self(), "lqs-durability");  // for top -H, perf
  SpareKeeper spare(options_.wal_dir, options_.wal_file_bytes);
  uint64_t files_seen = wal_->stats().files_created;
  int64_t backoff_ms = 0;
  while (!stop.load(std::memory_order_acquire)) {
    auto r = do_work();
    if (const uint64_t f = wal_->stats().files_created; f != files_seen) {
      files_seen = f;
      spare.poke();
    }
    if (std::string e; spare.take_change(e)) {
      if (e.empty()) {
        log("wal_spare_ready", "");
      } else {
        log("wal_spare_failed", "error=\"" + e + "\" note=rolls_zero_fill_on_the_commit_path");
      }
    }
    if (!r) {
      log("commit_failed", "error=\"" + r.error().message + "\"");
      backoff_ms = std::min<int64_t>(backoff_ms == 0 ? 10 : backoff_ms * 2, 1000);
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      continue;
    }
    backoff_ms = 0;
    if (*r != 0) {
      if (sync_events_) {
        last_sync_ = std::chrono::steady_clock::now();
        continue;  // sync: the next group commit at once
      }
      // async only: gather for kAsyncGatherMs (well inside max_delay_ms) rather than pay an
      // fdatasync per pass; a sync sender's doorbell ends the wait early.
      wait(std::min<int64_t>(kAsyncGatherMs, options_.max_delay_ms), /*even_if_pending=*/true);
      continue;
    }
    // Right after sync traffic, poll (yielding) for a while: the next sync send is likely to
    // come within a group commit's time, and a futex sleep and wake-up (26-40 µs each on this
    // VM) would add to its latency. Async-only traffic never spins: it waits up to
    // max_delay_ms on the doorbells.
    if (std::chrono::steady_clock::now() - last_sync_ < std::chrono::microseconds(kSpinUs)) {
      std::this_thread::yield();
      continue;
    }
    wait(options_.max_delay_ms);
  }
  (void)do_work();
  for (auto& [name, t] : tracked_) {
    t->queue->journal_detach();
  }
}

DurabilityStats DurabilityAgent::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

}  // namespace lqs::daemon
