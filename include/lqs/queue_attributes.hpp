// Copyright lqs authors. Queue attributes: the SQS ones with SQS's defaults and ranges, plus
// the capacity of the shared-memory segment.
#ifndef LQS_QUEUE_ATTRIBUTES_HPP_
#define LQS_QUEUE_ATTRIBUTES_HPP_

#include "lqs/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace lqs {

/// LqsDurability (lqs's own attribute; SQS clients pass it through like any other name).
///  - kMemory: messages live in shared memory only: they survive any process crash, lqsd's
///    included, but not a reboot or the loss of the shm root.
///  - kAsync (the default): every send, delete, visibility change and purge is also
///    recorded in the queue's journal, and lqsd writes the journal to its write-ahead log
///    within a bounded delay (10 ms by default). A reboot loses at most that window. With no
///    lqsd running it behaves as kMemory (and lqsd takes a snapshot when it comes back).
///  - kSync: as kAsync, and a send returns only once its record is on disk; without lqsd it
///    fails after its deadline (kTimedOut) instead of hanging.
enum class Durability : int32_t { kMemory = 0, kAsync = 1, kSync = 2 };

/// The settable attributes of a standard queue (SQS_REFERENCE.md §2.1) and the segment's
/// capacity. Defaults are SQS's.
struct QueueAttributes {
  int32_t visibility_timeout_s = 30;             ///< VisibilityTimeout, 0..43200
  int32_t message_retention_period_s = 345600;   ///< MessageRetentionPeriod, 60..1209600
  int32_t maximum_message_size = 1048576;        ///< MaximumMessageSize, 1024..1048576
  int32_t delay_s = 0;                           ///< DelaySeconds, 0..900
  int32_t receive_message_wait_time_s = 0;       ///< ReceiveMessageWaitTimeSeconds, 0..20
  uint32_t capacity_messages = 65536;            ///< LqsCapacityMessages, 16..4194304
  uint64_t capacity_bytes = uint64_t{64} << 20;  ///< LqsCapacityBytes, 2 MiB..64 GiB
  // FIFO queues (SQS_REFERENCE.md §4). fifo_queue is fixed at creation; the others may change.
  bool fifo_queue = false;                         ///< FifoQueue
  bool content_based_deduplication = false;        ///< ContentBasedDeduplication
  bool deduplication_scope_message_group = false;  ///< DeduplicationScope: messageGroup|queue
  bool fifo_throughput_per_group = false;      ///< FifoThroughputLimit: perMessageGroupId|perQueue
  Durability durability = Durability::kAsync;  ///< LqsDurability: memory | async | sync
};

/// Checks every field against its range. Error: kInvalidAttributeValue, naming the attribute
/// and its range, e.g. "Invalid value for the parameter VisibilityTimeout. Reason: must be
/// between 0 and 43200.".
Result<void> validate(const QueueAttributes& attributes);

/// Sets one attribute from its SQS name and string value ("VisibilityTimeout", "60"; the FIFO
/// attributes take SQS's words: "true", "messageGroup", "perMessageGroupId", ...).
/// Errors: kInvalidAttributeName for an unknown name, kInvalidAttributeValue for a value that
/// is not an integer or is out of range. FIFO-only attributes on a non-FIFO `attributes` are
/// not checked here (the registry applies SQS's rules about them).
Result<void> set_attribute(QueueAttributes& attributes, std::string_view name,
                           std::string_view value);

/// The value of one attribute as SQS prints it; kInvalidAttributeName for an unknown name.
Result<std::string> get_attribute(const QueueAttributes& attributes, std::string_view name);

}  // namespace lqs

#endif  // LQS_QUEUE_ATTRIBUTES_HPP_
