// Copyright lqs authors. Queue: an SQS standard queue in a shared-memory segment.
//
// Thread-safety: a Queue object may be used from many threads at once; any number of
// processes may open the same queue. Every operation is lock-free on the data path.
// Errors: every call returns Result; no exception crosses this API.
#ifndef LQS_QUEUE_HPP_
#define LQS_QUEUE_HPP_

#include "lqs/clock.hpp"
#include "lqs/message.hpp"
#include "lqs/queue_attributes.hpp"
#include "lqs/result.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lqs {

/// The default shm root of an instance: /dev/shm/lqs/<instance>.
std::string default_shm_root(std::string_view instance = "default");

/// Where a queue lives and which clock it uses.
struct QueueLocation {
  std::string shm_root = default_shm_root();  ///< directory holding one segment file per queue
  std::string name;                           ///< SQS queue name: [A-Za-z0-9_-]{1,80}
  Clock* clock = nullptr;                     ///< nullptr: SystemClock::instance()
};

/// What recover() found and repaired (also used by fsck).
struct RecoveryReport {
  uint64_t slots_scanned = 0;
  uint64_t dead_writers_reclaimed = 0;  ///< sends interrupted by a dead producer
  uint64_t publishes_completed = 0;     ///< messages re-published to the ready ring
  uint64_t leases_expired = 0;          ///< expired leases / delays made visible
  uint64_t deletes_completed = 0;       ///< deletes interrupted by a dead process
  uint64_t retention_expired = 0;       ///< messages removed past their retention
  uint64_t chunks_reclaimed = 0;        ///< arena chunks owned by no message
  uint64_t free_hints_rebuilt = 0;      ///< free-slot / free-chunk hint bits restored
  uint64_t dead_waiters_reaped = 0;     ///< parked-receiver entries of dead processes freed
  uint64_t dedup_records_expired = 0;   ///< FIFO: deduplication records past their window
  uint64_t fifo_groups_requeued = 0;    ///< FIFO: receivable groups missing from the ready list
};

/// What the queue has done since it was created, for metrics (CloudWatch's SQS metrics).
struct QueueStats {
  QueueCounts counts;                 ///< as counts()
  uint64_t sent_total = 0;            ///< NumberOfMessagesSent
  uint64_t received_total = 0;        ///< NumberOfMessagesReceived
  uint64_t empty_receives_total = 0;  ///< NumberOfEmptyReceives
  uint64_t deleted_total = 0;         ///< NumberOfMessagesDeleted (valid-handle calls, repeats too)
  int64_t oldest_sent_unix_ms = 0;    ///< SentTimestamp of the oldest message; 0 when empty
  uint64_t dlq_moves_total = 0;       ///< messages moved to the dead-letter queue
  /// FIFO: deduplication records dropped before their 5 minutes because the queue held as
  /// many as it can (4 per message slot, at most 4 Mi): ids older than that are forgotten.
  uint64_t fifo_dedup_evicted_total = 0;
  /// Times the durability journal lost events (full, lqsd absent, a stalled producer's cell
  /// skipped, or the queue just made durable): each costs lqsd a snapshot of the whole queue.
  uint64_t journal_overflows_total = 0;
};

/// SQS's RedrivePolicy: a message received max_receive_count times is moved to the
/// dead-letter queue (a queue in the same shm root) at the next receive that would return it.
struct RedrivePolicy {
  std::string dead_letter_queue;   ///< queue name
  uint32_t max_receive_count = 0;  ///< 1..1000
  bool operator==(const RedrivePolicy&) const = default;
};

class Queue {
 public:
  /// Creates the segment file (mode 0660 by default) and reserves its space with fallocate, so
  /// a full /dev/shm fails here (kNoSpace) instead of raising SIGBUS later.
  /// Errors: kInvalidParameterValue (bad name), kInvalidAttributeValue, kQueueNameExists,
  /// kNoSpace, kSystem.
  static Result<Queue> create(const QueueLocation& where, const QueueAttributes& attributes);
  /// Opens an existing queue. Validates the segment (magic, version, sizes, offsets) before
  /// trusting any of it. Errors: kQueueDoesNotExist, kCorruption, kIncompatibleVersion.
  static Result<Queue> open(const QueueLocation& where);
  /// As open(), without the recover() that open() runs first: for inspection (`lqs fsck`,
  /// `lqs dump`, `lqs top`), which must see what dead processes left behind as it is. The
  /// queue is fully usable; its operations repair as they go, as always.
  static Result<Queue> open_without_recovery(const QueueLocation& where);
  /// Removes the segment file. Processes that have it open keep working on the old mapping.
  static Result<void> remove(const QueueLocation& where);
  /// Names of the queues whose segment files are in `shm_root`, sorted (empty if the
  /// directory does not exist).
  static std::vector<std::string> list(const std::string& shm_root);

  Queue(Queue&&) noexcept;
  Queue& operator=(Queue&&) noexcept;
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;
  ~Queue();

  const std::string& name() const noexcept;
  /// The attributes as stored in the segment.
  QueueAttributes attributes() const noexcept;
  /// When the queue was created and its attributes last changed (Unix ms).
  int64_t created_unix_ms() const noexcept;
  int64_t last_modified_unix_ms() const noexcept;
  /// Changes the SQS attributes (not the capacity fields, which are fixed at creation).
  Result<void> set_attributes(const QueueAttributes& attributes);
  /// Sets (or, with nullopt, removes) the redrive policy. The move happens in whichever
  /// process receives the message: it copies the message into the dead-letter queue with its
  /// MessageId, body, attributes, receive count and original SentTimestamp (retention counts
  /// from it) and the source queue's name, then deletes it here. A process killed between
  /// the two leaves the message in both queues, never in neither. If the dead-letter queue
  /// is missing or refuses the message (too large for it, full), the message is delivered
  /// as usual instead. Errors: kInvalidParameterValue (bad name, count outside 1..1000, or
  /// the queue itself).
  Result<void> set_redrive_policy(const std::optional<RedrivePolicy>& policy);
  std::optional<RedrivePolicy> redrive_policy() const;

  /// SendMessage. Errors: kMissingParameter (empty body), kInvalidMessageContents,
  /// kInvalidParameterValue (too large, bad delay or group id), kInvalidAttributeName /
  /// kInvalidAttributeValue / kInvalidParameterValue (bad message attributes), kQueueFull.
  Result<SendResult> send(const SendRequest& request, const SendOptions& options = {});
  /// SendMessageBatch: 1..10 entries whose sizes sum to at most 1 MiB (else the whole call
  /// fails: kEmptyBatchRequest, kTooManyEntriesInBatch, kBatchRequestTooLong). Each entry then
  /// succeeds or fails on its own, in request order; `out` gets one Result per entry.
  Result<void> send_batch(std::span<const SendRequest> requests,
                          std::vector<Result<SendResult>>& out, const SendOptions& options = {});

  /// ReceiveMessage: leases up to max_number_of_messages messages. Waits up to wait_time_s for
  /// the first one (parked on a futex; woken by a send from any process). An empty result is
  /// not an error. Errors: kInvalidParameterValue for out-of-range options.
  Result<void> receive(ReceiveBatch& out, const ReceiveOptions& options = {});

  /// For event loops that wait on many queues at once (lqsd's long polls, one thread for all
  /// of them). arm_wakeup() registers the caller as a parked receiver, so that the next send
  /// to this queue, from any process, changes `*word` and wakes futex waiters on it. The
  /// caller then re-checks (receive with wait_time_s = 0), waits (futex_wait or futex_waitv,
  /// process-shared) while `*word == value` for at most `max_sleep_ns` (a delay or lease of
  /// this queue falls due then; a timer-driven change does not touch `word`), and calls
  /// disarm_wakeup(). `entry` < 0 means the waiter table was full: poll at a short interval.
  struct Wakeup {
    const std::atomic<uint32_t>* word = nullptr;
    uint32_t value = 0;
    int entry = -1;
    int64_t max_sleep_ns = 0;
  };
  Wakeup arm_wakeup() noexcept;
  void disarm_wakeup(const Wakeup& wakeup) noexcept;

  /// DeleteMessage. A handle whose message was already deleted, or re-received by someone
  /// else, succeeds without effect (as in SQS). Errors: kReceiptHandleIsInvalid.
  Result<void> delete_message(std::string_view receipt_handle);
  /// DeleteMessageBatch: per-entry results in `out`. Errors as for send_batch's whole-call ones.
  Result<void> delete_batch(std::span<const std::string_view> receipt_handles,
                            std::vector<Result<void>>& out);

  /// ChangeMessageVisibility: the message becomes visible `visibility_timeout_s` from now
  /// (0: at once), never beyond 12 h after its receive. Errors: kReceiptHandleIsInvalid,
  /// kInvalidParameterValue (out of range, beyond 12 h, or message not in flight).
  Result<void> change_visibility(std::string_view receipt_handle, int32_t visibility_timeout_s);
  /// ChangeMessageVisibilityBatch.
  Result<void> change_visibility_batch(std::span<const std::string_view> receipt_handles,
                                       std::span<const int32_t> visibility_timeouts_s,
                                       std::vector<Result<void>>& out);

  /// PurgeQueue: deletes every message: visible, in flight and delayed.
  Result<void> purge();
  /// Approximate counts, from one scan of the slot table.
  QueueCounts counts() const;
  /// Counts plus the queue's counters and its oldest message (one scan of the slot table).
  QueueStats stats() const;

  /// Repairs what dead processes left behind (see src/queue/README.md, crash table) and
  /// expires due leases, delays and retention. Safe to run at any time, from any process,
  /// concurrently with every other operation.
  RecoveryReport recover();
  /// Checks the segment's invariants without changing it; returns the problems found.
  std::vector<std::string> fsck() const;

  // ---- Durability: lqsd's side of the journal (src/shm/FORMAT.md, "Journal") -------------
  /// One event read from the journal. For a send whose message is still in its slot, the
  /// message's arena record (RecordHeader, body, group, trace, source, attributes) and
  /// descriptor; `has_record` is false when the message was gone before it was read (its
  /// delete follows in the journal).
  struct JournalEntry {
    uint64_t ticket = 0;
    uint32_t kind = 0;         ///< shm::JournalKind
    uint32_t slot = 0;         ///< the slot the event names (send, delete, visibility)
    uint32_t incarnation = 0;  ///< the slot's incarnation when the event was made
    MessageId message_id;
    int64_t unix_ms = 0;
    uint32_t arg = 0;
    bool has_record = false;
    std::string record;
    int64_t sent_unix_ms = 0;
    uint32_t receive_count = 0;
    uint64_t sequence = 0;  ///< FIFO SequenceNumber, 0 for a standard queue
  };
  /// A live message as a snapshot (checkpoint) sees it, or as restore() takes it back.
  struct StoredMessage {
    MessageId message_id;
    std::string record;
    int64_t sent_unix_ms = 0;
    uint32_t receive_count = 0;
    uint64_t sequence = 0;
    /// restore() only: FIFO, the message itself is gone (deleted), only its deduplication
    /// record is put back (if still within its 5-minute window).
    bool dedup_only = false;
  };
  /// A FIFO deduplication record as the queue holds it: a keyed hash of the deduplication
  /// id (and of the group, for DeduplicationScope=messageGroup), when its window ends and
  /// what the first send returned.
  struct DedupRecord {
    uint64_t key_lo = 0;
    uint64_t key_hi = 0;
    int64_t expires_unix_ms = 0;
    uint64_t sequence = 0;
    MessageId message_id;
  };
  /// FIFO: the queue's hash key and its deduplication records still within their window,
  /// oldest first (lqsd's checkpoints). False (nothing written) for a standard queue.
  bool dedup_snapshot(std::array<uint8_t, 16>& hash_key, std::vector<DedupRecord>& out) const;
  /// FIFO, reboot recovery, before any restore(): adopts `hash_key`, so that ids hash as in
  /// the lost segment, and puts back the records whose window is still open. Not journaled.
  /// Errors: kInvalidParameterValue (a standard queue, or one that already holds messages or
  /// deduplication records).
  Result<void> restore_dedup(const std::array<uint8_t, 16>& hash_key,
                             std::span<const DedupRecord> records);
  /// Claims the journal for this process (lqsd's durability agent). False if another live
  /// process holds it.
  bool journal_attach() noexcept;
  void journal_detach() noexcept;
  /// The first ticket not yet durable, and the next ticket a producer will claim.
  uint64_t journal_head() const noexcept;
  uint64_t journal_tail() const noexcept;
  /// The journal's number of cells: tail - head never exceeds it.
  uint64_t journal_capacity() const noexcept;
  /// Reads into `out` up to `max_events` published events from ticket `from` on; returns the
  /// ticket after the last one read. `out`'s elements and their record buffers are reused:
  /// with `count`, the events are out[0, *count) and `out` is never shrunk, so a caller that
  /// keeps it allocates nothing once it has grown; without, `out` is resized to the events. A cell
  /// claimed by a producer that has not published it for kJournalStallMs (a dead producer) is
  /// skipped and the overflow flag raised.
  uint64_t journal_read(uint64_t from, size_t max_events, std::vector<JournalEntry>& out,
                        size_t* count = nullptr);
  /// Every event before `ticket` is on disk: frees their cells, advances the head and wakes
  /// `sync` senders waiting for them.
  void journal_commit(uint64_t ticket) noexcept;
  /// lqsd's last log write failed with `err` (ENOSPC, EIO, ...; 0: it works again), so that
  /// sync senders that time out can say why.
  void journal_set_error(int err) noexcept;
  /// Takes the overflow flag: true if events were lost since the last call (the journal was
  /// full, a cell was skipped, or the queue became durable), so that lqsd must snapshot.
  bool journal_take_overflow() noexcept;
  /// The word `sync` senders bump when lqsd sleeps (for futex_waitv), and lqsd's flag saying
  /// it is about to sleep on it.
  const std::atomic<uint32_t>* journal_doorbell() const noexcept;
  void journal_set_sleeping(bool sleeping) noexcept;
  /// Visits every live message (visible, delayed or in flight), FIFO queues in SequenceNumber
  /// order. The copy of each record is consistent (re-checked against its slot).
  void snapshot(const std::function<void(const StoredMessage&)>& visit) const;
  /// Puts a message back after the shm root was lost (reboot recovery): visible now, with its
  /// MessageId, record, SentTimestamp, receive count and, in a FIFO queue, SequenceNumber and
  /// deduplication record (if still within its window). Not journaled. Errors: kCorruption
  /// (the record is not well formed), kQueueFull.
  Result<void> restore(const StoredMessage& message);

  class Impl;

 private:
  explicit Queue(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lqs

#endif  // LQS_QUEUE_HPP_
