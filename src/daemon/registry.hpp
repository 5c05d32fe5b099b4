// Copyright lqs authors. The queue registry of an lqs instance: the control-plane actions of
// SQS (CreateQueue, DeleteQueue, ListQueues, GetQueueUrl, Get/SetQueueAttributes, PurgeQueue,
// Tag/Untag/ListQueueTags) over the queues of one shm root, with the metadata SQS keeps that
// the segment does not (tags, policy and SSE attributes, deletion times) in the data directory.
//
// Contract
//  - The segment is the truth for a queue's existence and its engine attributes; the metadata
//    file `<data_dir>/queues/<name>.json` holds the rest. Metadata is written to a temporary
//    file, fsynced and renamed, so a crash leaves the old or the new file, never half of one.
//  - open() reconciles both: a segment without metadata (a queue created through liblqs
//    directly) is adopted with default metadata; metadata without a segment (the shm root was
//    lost, e.g. by a reboot) re-creates the queue, empty, with its attributes, says so in the
//    log and lists it in recreated(); lqsd's durability agent then restores its messages
//    from the write-ahead log (daemon/durability.hpp).
//  - Thread-safe: every public method takes one mutex (control-plane rates only).
//
// Crash table
//  create: killed after the segment exists, before its metadata → next open() adopts it.
//  delete: killed after the segment is removed, before the metadata → next open() finds
//          metadata without a segment and re-creates the queue empty; the DeleteQueue was not
//          acknowledged, so the client retries it. Killed before the deletion time is recorded
//          → the 60-second QueueDeletedRecently window is not enforced for that name.
//  any metadata write: the rename is atomic; a stray `*.tmp` file is ignored and replaced.
#ifndef LQS_DAEMON_REGISTRY_HPP_
#define LQS_DAEMON_REGISTRY_HPP_

#include "lqs/clock.hpp"
#include "lqs/queue.hpp"
#include "lqs/result.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lqs::daemon {

/// Where an instance lives and how it names its queues.
struct Instance {
  std::string shm_root;              ///< segment files
  std::string data_dir;              ///< metadata, lock file
  std::string region = "us-east-1";  ///< for QueueArn
  std::string account_id = "000000000000";
  Clock* clock = nullptr;  ///< nullptr: SystemClock::instance()
  /// Largest LqsCapacityBytes a CreateQueue may ask for (reserved in the shm root at once).
  uint64_t max_queue_bytes = uint64_t{8} << 30;
};

using AttributeMap = std::map<std::string, std::string, std::less<>>;
using TagMap = std::map<std::string, std::string, std::less<>>;

struct ListQueuesResult {
  std::vector<std::string> names;  ///< queue names (the HTTP layer turns them into URLs)
  std::string next_token;          ///< empty when there is no further page
};

/// One line per event for the daemon's log: component, event and key=value fields.
using LogFn = std::function<void(std::string_view component, std::string_view event,
                                 std::string_view fields)>;

class Registry {
 public:
  /// Opens (creating the directories if needed) and reconciles the instance. Errors: kSystem
  /// for unusable directories, kCorruption for unreadable metadata.
  static Result<std::unique_ptr<Registry>> open(const Instance& instance, LogFn log = {});

  /// CreateQueue. Idempotent: the same name with no attributes, or with attributes equal to
  /// the queue's, succeeds. Errors: kInvalidParameterValue (name), kInvalidAttributeName,
  /// kInvalidAttributeValue, kQueueNameExists, kQueueDeletedRecently (60 s after a delete).
  Result<void> create_queue(std::string_view name, const AttributeMap& attributes,
                            const TagMap& tags = {});
  /// DeleteQueue. Errors: kQueueDoesNotExist.
  Result<void> delete_queue(std::string_view name);
  /// GetQueueUrl's existence check. Errors: kQueueDoesNotExist.
  Result<void> get_queue_url(std::string_view name) const;
  /// ListQueues: names starting with `prefix`, sorted; `max_results` 1..1000 pages them.
  /// Errors: kInvalidParameterValue (MaxResults out of range, bad NextToken).
  Result<ListQueuesResult> list_queues(std::string_view prefix, std::optional<int32_t> max_results,
                                       std::string_view next_token) const;
  /// GetQueueAttributes: "All" or names; no names gives an empty map (as SQS does).
  /// Errors: kQueueDoesNotExist, kInvalidAttributeName.
  Result<AttributeMap> get_queue_attributes(std::string_view name,
                                            std::span<const std::string> names) const;
  /// SetQueueAttributes. Errors: kQueueDoesNotExist, kInvalidAttributeName,
  /// kInvalidAttributeValue.
  Result<void> set_queue_attributes(std::string_view name, const AttributeMap& attributes);
  /// PurgeQueue. Errors: kQueueDoesNotExist, kPurgeQueueInProgress (within 60 s).
  Result<void> purge_queue(std::string_view name);
  /// TagQueue / UntagQueue / ListQueueTags. Errors: kQueueDoesNotExist,
  /// kInvalidParameterValue (bad key or value).
  Result<void> tag_queue(std::string_view name, const TagMap& tags);
  Result<void> untag_queue(std::string_view name, std::span<const std::string> keys);
  Result<TagMap> list_queue_tags(std::string_view name) const;

  /// AddPermission / RemovePermission: a statement per label in the queue's Policy attribute
  /// (stored and returned; lqs does not enforce IAM policies). Errors: kQueueDoesNotExist,
  /// kInvalidParameterValue (label, accounts, actions; "Already exists"; "can't find
  /// label"), kMissingParameter, kOverLimit (more than 7 actions or 20 statements).
  Result<void> add_permission(std::string_view name, std::string_view label,
                              std::span<const std::string> account_ids,
                              std::span<const std::string> actions);
  Result<void> remove_permission(std::string_view name, std::string_view label);

  /// ListDeadLetterSourceQueues: the queues whose RedrivePolicy names `dead_letter_queue`.
  /// Errors: kQueueDoesNotExist, kInvalidParameterValue (MaxResults, NextToken).
  Result<ListQueuesResult> list_dead_letter_source_queues(std::string_view dead_letter_queue,
                                                          std::optional<int32_t> max_results,
                                                          std::string_view next_token) const;

  std::string queue_arn(std::string_view name) const;
  /// The queue name an ARN of this instance's region and account names (not checked to exist).
  std::optional<std::string> queue_of_arn(std::string_view arn) const;
  const Instance& instance() const noexcept { return instance_; }
  std::vector<std::string> queue_names() const;
  /// The open queue `name`, or nullptr. The data path (SendMessage, ReceiveMessage, ...) uses
  /// it outside the registry's lock; a queue deleted meanwhile stays usable by its holders
  /// (the mapping outlives the segment file) and vanishes with the last of them.
  std::shared_ptr<Queue> queue(std::string_view name) const;
  /// The queues open() re-created empty because their segment was missing (a reboot).
  const std::vector<std::string>& recreated() const noexcept { return recreated_; }

  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

 private:
  struct Entry;
  Registry(Instance instance, LogFn log);
  Result<void> load();
  Result<void> save_metadata(const Entry& e) const;
  Result<void> save_deleted() const;
  // Checks a RedrivePolicy value for `source` against the other queues (target exists, its
  // RedriveAllowPolicy admits `source`); returns the policy (nullopt for "", which removes it)
  // and its normalised JSON in `normalised`.
  Result<std::optional<RedrivePolicy>> check_redrive(std::string_view source,
                                                     std::string_view value,
                                                     std::string& normalised) const;
  // One page of the queue names (sorted) for which `wanted` holds. REQUIRES: mu_ held.
  Result<ListQueuesResult> page(const std::function<bool(const Entry&)>& wanted,
                                std::optional<int32_t> max_results,
                                std::string_view next_token) const;
  Entry* find(std::string_view name);
  const Entry* find(std::string_view name) const;
  QueueLocation location(std::string_view name) const;
  int64_t now_unix_ms() const;
  void log(std::string_view event, const std::string& fields) const;

  Instance instance_;
  LogFn log_;
  Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> queues_;
  std::map<std::string, int64_t, std::less<>> deleted_at_ms_;  // name → DeleteQueue time
  std::vector<std::string> recreated_;                         // set by open(), then fixed
};

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_REGISTRY_HPP_
