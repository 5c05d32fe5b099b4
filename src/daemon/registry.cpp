// Copyright lqs authors.
#include "daemon/registry.hpp"

#include "daemon/files.hpp"
#include "queue/validation.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lqs::daemon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kDeleteQuietMs = 60'000;  // QueueDeletedRecently
constexpr int64_t kPurgeQuietMs = 60'000;   // PurgeQueueInProgress
constexpr size_t kMaxTagKey = 128;
constexpr size_t kMaxTagValue = 256;

// The attributes the segment holds (settable, except the Lqs capacities: create only).
constexpr std::string_view kEngineSettable[] = {
    "DelaySeconds",           "MaximumMessageSize",
    "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",      "LqsDurability"};
constexpr std::string_view kEngineCreateOnly[] = {"LqsCapacityMessages", "LqsCapacityBytes"};
// FIFO queues only: FifoQueue at creation, the others settable any time.
constexpr std::string_view kFifoSettable[] = {"ContentBasedDeduplication", "DeduplicationScope",
                                              "FifoThroughputLimit"};
// Settable attributes kept in the metadata file (no effect on delivery; see README).
constexpr std::string_view kExtraSettable[] = {
    "KmsDataKeyReusePeriodSeconds", "KmsMasterKeyId", "Policy",
    "RedriveAllowPolicy",           "RedrivePolicy",  "SqsManagedSseEnabled"};
constexpr std::string_view kReadOnly[] = {"ApproximateNumberOfMessages",
                                          "ApproximateNumberOfMessagesDelayed",
                                          "ApproximateNumberOfMessagesNotVisible",
                                          "CreatedTimestamp",
                                          "LastModifiedTimestamp",
                                          "QueueArn"};

bool one_of(std::string_view v, std::span<const std::string_view> set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

// QueueDoesNotExist with the JSON protocol's message (SQS_REFERENCE.md §1.3, GetQueueUrl).
Error no_such_queue() {
  return make_error(ErrorCode::kQueueDoesNotExist, "The specified queue does not exist.");
}

Error unknown_attribute(std::string_view name) {
  return make_error(ErrorCode::kInvalidAttributeName,
                    "Unknown Attribute " + std::string(name) + ".");
}

Error invalid_value(std::string_view name, std::string_view reason) {
  return make_error(ErrorCode::kInvalidAttributeValue,
                    "Invalid value for the parameter " + std::string(name) +
                        ". Reason: " + std::string(reason) + ".");
}

std::optional<int64_t> parse_int(std::string_view v) {
  int64_t out = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || p != v.data() + v.size() || v.empty()) {
    return std::nullopt;
  }
  return out;
}

// Checks one attribute of a CreateQueue or SetQueueAttributes call that is not an engine one.
Result<void> check_extra(std::string_view name, std::string_view value) {
  if (name == "FifoQueue") {
    return unknown_attribute(name);  // on a standard queue (FIFO queues handle it first)
  }
  if (name == "ContentBasedDeduplication") {
    return unknown_attribute(name);
  }
  if (name == "DeduplicationScope" || name == "FifoThroughputLimit") {
    return make_error(ErrorCode::kInvalidAttributeName, "You can specify the " + std::string(name) +
                                                            " only when FifoQueue is set to true.");
  }
  if (name == "RedrivePolicy" || name == "RedriveAllowPolicy") {
    return {};  // checked against the other queues by the registry (check_redrive)
  }
  if (name == "Policy") {
    if (!value.empty() && !json::accept(value)) {
      return invalid_value(name, "the policy is not a valid JSON document");
    }
    return {};
  }
  if (name == "SqsManagedSseEnabled") {
    if (value != "true" && value != "false") {
      return invalid_value(name, "must be true or false");
    }
    return {};
  }
  if (name == "KmsDataKeyReusePeriodSeconds") {
    const auto v = parse_int(value);
    if (!v || *v < 60 || *v > 86400) {
      return invalid_value(name, "must be between 60 and 86400");
    }
    return {};
  }
  if (name == "KmsMasterKeyId") {
    return {};
  }
  return unknown_attribute(name);
}

bool is_tag_char(unsigned char c) {
  return std::isalnum(c) != 0 || std::isspace(c) != 0 || c >= 0x80 || c == '_' || c == '.' ||
         c == ':' || c == '/' || c == '=' || c == '+' || c == '-' || c == '@';
}

Result<void> validate_tags(const TagMap& tags) {
  for (const auto& [k, v] : tags) {
    if (k.empty() || k.size() > kMaxTagKey || !std::all_of(k.begin(), k.end(), is_tag_char)) {
      return make_error(ErrorCode::kInvalidParameterValue,
                        "Tag key \"" + k.substr(0, 200) +
                            "\" is invalid: 1 to 128 letters, digits, spaces and _.:/=+-@");
    }
    if (k.starts_with("aws:")) {
      return make_error(ErrorCode::kInvalidParameterValue,
                        "Tag keys may not start with \"aws:\": " + k);
    }
    if (v.size() > kMaxTagValue || !std::all_of(v.begin(), v.end(), is_tag_char)) {
      return make_error(ErrorCode::kInvalidParameterValue,
                        "Tag value for key \"" + k +
                            "\" is invalid: at most 256 letters, digits, spaces and _.:/=+-@");
    }
  }
  return {};
}

std::string to_hex(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * s.size());
  for (const unsigned char c : s) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view s) {
  if (s.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string out;
  for (size_t i = 0; i < s.size(); i += 2) {
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + 2, v, 16);
    if (ec != std::errc{} || p != s.data() + i + 2) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(v));
  }
  return out;
}

// Parses an ARN of this instance's region and account into the queue name it names.
std::optional<std::string> arn_to_queue(std::string_view arn, const Instance& inst) {
  const std::string prefix = "arn:aws:sqs:" + inst.region + ":" + inst.account_id + ":";
  if (!arn.starts_with(prefix)) {
    return std::nullopt;
  }
  return std::string(arn.substr(prefix.size()));
}

Error bad_redrive(std::string_view attribute, std::string_view value, std::string_view reason) {
  return make_error(ErrorCode::kInvalidParameterValue,
                    "Value " + std::string(value) + " for parameter " + std::string(attribute) +
                        " is invalid. Reason: " + std::string(reason));
}

// RedriveAllowPolicy: {"redrivePermission": "allowAll"|"denyAll"|"byQueue",
// "sourceQueueArns": [...]} (the list only, and 1..10 entries, with byQueue). Returns it
// normalised, or "" for "" (policy removed).
Result<std::string> normalise_allow_policy(std::string_view value) {
  constexpr std::string_view kName = "RedriveAllowPolicy";
  if (value.empty()) {
    return std::string();
  }
  const json j = json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return bad_redrive(kName, value, "Redrive allow policy is not a valid JSON map.");
  }
  const std::string perm = j.value("redrivePermission", "");
  if (perm != "allowAll" && perm != "denyAll" && perm != "byQueue") {
    return bad_redrive(kName, value,
                       "redrivePermission must be one of allowAll, denyAll or byQueue.");
  }
  json out = {{"redrivePermission", perm}};
  if (perm == "byQueue") {
    if (!j.contains("sourceQueueArns") || !j["sourceQueueArns"].is_array() ||
        j["sourceQueueArns"].empty() || j["sourceQueueArns"].size() > 10) {
      return bad_redrive(kName, value,
                         "sourceQueueArns must list 1 to 10 queue ARNs when redrivePermission is "
                         "byQueue.");
    }
    for (const json& a : j["sourceQueueArns"]) {
      if (!a.is_string()) {
        return bad_redrive(kName, value, "sourceQueueArns must be strings.");
      }
    }
    out["sourceQueueArns"] = j["sourceQueueArns"];
  } else if (j.contains("sourceQueueArns")) {
    return bad_redrive(kName, value,
                       "sourceQueueArns can be given only when redrivePermission is byQueue.");
  }
  return out.dump();
}
}  // namespace

struct Registry::Entry {
  std::string name;
  std::shared_ptr<Queue> queue;  // shared with in-flight HTTP requests (queue(name))
  AttributeMap extra;            // kExtraSettable values that were set
  TagMap tags;
  int64_t last_purge_ms = INT64_MIN / 2;
};

Registry::Registry(Instance instance, LogFn log)
    : instance_(std::move(instance)),
      log_(std::move(log)),
      clock_(instance_.clock != nullptr ? instance_.clock : &SystemClock::instance()) {}

Registry::~Registry() = default;

Result<std::unique_ptr<Registry>> Registry::open(const Instance& instance, LogFn log) {
  std::unique_ptr<Registry> r(new Registry(instance, std::move(log)));
  std::error_code ec;
  fs::create_directories(fs::path(instance.data_dir) / "queues", ec);
  if (ec) {
    return make_error(ErrorCode::kSystem,
                      "cannot create data directory " + instance.data_dir + ": " + ec.message(),
                      ec.value());
  }
  fs::create_directories(instance.shm_root, ec);
  if (ec) {
    return make_error(ErrorCode::kSystem,
                      "cannot create shm root " + instance.shm_root + ": " + ec.message(),
                      ec.value());
  }
  if (auto l = r->load(); !l) {
    return std::move(l).error();
  }
  return r;
}

QueueLocation Registry::location(std::string_view name) const {
  QueueLocation loc;
  loc.shm_root = instance_.shm_root;
  loc.name = std::string(name);
  loc.clock = clock_;
  return loc;
}

int64_t Registry::now_unix_ms() const { return clock_->unix_ms(); }

void Registry::log(std::string_view event, const std::string& fields) const {
  if (log_) {
    log_("registry", event, fields);
  }
}

std::string Registry::queue_arn(std::string_view name) const {
  return "arn:aws:sqs:" + instance_.region + ":" + instance_.account_id + ":" + std::string(name);
}

std::optional<std::string> Registry::queue_of_arn(std::string_view arn) const {
  return arn_to_queue(arn, instance_);
}

Registry::Entry* Registry::find(std::string_view name) {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : it->second.get();
}

const Registry::Entry* Registry::find(std::string_view name) const {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : it->second.get();
}

Result<void> Registry::load() {
  const fs::path dir = fs::path(instance_.data_dir) / "queues";
  // Deletion times (QueueDeletedRecently survives a restart).
  if (const fs::path del = fs::path(instance_.data_dir) / "deleted.json"; fs::exists(del)) {
    auto j = read_json(del);
    if (!j) {
      return std::move(j).error();
    }
    for (const auto& [k, v] : j->items()) {
      if (v.is_number_integer()) {
        deleted_at_ms_[k] = v.get<int64_t>();
      }
    }
  }
  // Metadata files: each names a queue; its segment may be missing (reboot).
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    const fs::path p = f.path();
    if (p.extension() != ".json") {
      continue;  // *.tmp from an interrupted write
    }
    auto j = read_json(p);
    if (!j) {
      return std::move(j).error();
    }
    const std::string name = j->value("name", "");
    if (name.empty() || p.stem() != name || !queue::validate_queue_name(name)) {
      return make_error(ErrorCode::kCorruption, p.string() + ": bad or missing queue name");
    }
    auto e = std::make_unique<Entry>();
    e->name = name;
    QueueAttributes attrs;
    attrs.fifo_queue = name.ends_with(".fifo");  // FifoQueue is fixed by the name
    if (j->contains("attributes") && (*j)["attributes"].is_object()) {
      for (const auto& [k, v] : (*j)["attributes"].items()) {
        if (!v.is_string()) {
          continue;
        }
        if (one_of(k, kExtraSettable)) {
          e->extra[k] = v.get<std::string>();
        } else if (auto s = set_attribute(attrs, k, v.get<std::string>()); !s) {
          return make_error(ErrorCode::kCorruption,
                            p.string() + ": attribute " + k + ": " + s.error().message);
        }
      }
    }
    if (j->contains("tags") && (*j)["tags"].is_object()) {
      for (const auto& [k, v] : (*j)["tags"].items()) {
        if (v.is_string()) {
          e->tags[k] = v.get<std::string>();
        }
      }
    }
    auto q = Queue::open(location(name));
    if (!q && q.error().code == ErrorCode::kQueueDoesNotExist) {
      q = Queue::create(location(name), attrs);
      if (q) {
        log("queue_recreated", "queue=" + name + " reason=segment_missing");
        recreated_.push_back(name);
      }
    }
    if (!q) {
      std::string hint;
      if (q.error().code == ErrorCode::kIncompatibleVersion) {
        hint =
            "; lqsd re-creates a queue whose segment file is missing from its metadata and "
            "restores its messages from the log, unless it is LqsDurability=memory";
      }
      return make_error(q.error().code, "queue " + name + ": " + q.error().message + hint);
    }
    e->queue = std::make_shared<Queue>(std::move(q).value());
    queues_[name] = std::move(e);
  }
  if (ec) {
    return make_error(ErrorCode::kSystem, "cannot list " + dir.string() + ": " + ec.message(),
                      ec.value());
  }
  // Redrive policies name other queues: apply them once every queue is known (a re-created
  // segment has none; an existing one keeps its own, which this rewrites to the same value).
  for (auto& [name, e] : queues_) {
    auto it = e->extra.find("RedrivePolicy");
    if (it == e->extra.end()) {
      continue;
    }
    const json j = json::parse(it->second, nullptr, false);
    const auto target =
        j.is_object() && j.contains("deadLetterTargetArn") && j["deadLetterTargetArn"].is_string()
            ? arn_to_queue(j["deadLetterTargetArn"].get<std::string>(), instance_)
            : std::nullopt;
    if (!target || !j.contains("maxReceiveCount") || !j["maxReceiveCount"].is_number_integer()) {
      return make_error(ErrorCode::kCorruption, "queue " + name + ": bad stored RedrivePolicy");
    }
    (void)e->queue->set_redrive_policy(
        RedrivePolicy{*target, j["maxReceiveCount"].get<uint32_t>()});
  }
  // Segments without metadata: queues created through liblqs directly. Adopt them.
  for (const std::string& name : Queue::list(instance_.shm_root)) {
    if (find(name) != nullptr || !queue::validate_queue_name(name)) {
      continue;
    }
    auto q = Queue::open(location(name));
    if (!q) {
      log("queue_skipped", "queue=" + name + " error=\"" + q.error().message + "\"");
      continue;
    }
    auto e = std::make_unique<Entry>();
    e->name = name;
    e->queue = std::make_shared<Queue>(std::move(q).value());
    if (auto s = save_metadata(*e); !s) {
      return s;
    }
    log("queue_adopted", "queue=" + name);
    queues_[name] = std::move(e);
  }
  return {};
}

Result<void> Registry::save_metadata(const Entry& e) const {
  json j;
  j["name"] = e.name;
  json attrs = json::object();
  const QueueAttributes a = e.queue->attributes();
  for (std::string_view k : kEngineSettable) {
    attrs[std::string(k)] = get_attribute(a, k).value();
  }
  for (std::string_view k : kEngineCreateOnly) {
    attrs[std::string(k)] = get_attribute(a, k).value();
  }
  if (a.fifo_queue) {  // so that a queue re-created after a reboot keeps them
    for (std::string_view k : kFifoSettable) {
      attrs[std::string(k)] = get_attribute(a, k).value();
    }
  }
  for (const auto& [k, v] : e.extra) {
    attrs[k] = v;
  }
  j["attributes"] = attrs;
  j["tags"] = e.tags;
  return write_file_atomically(fs::path(instance_.data_dir) / "queues" / (e.name + ".json"),
                               j.dump(2) + "\n");
}

Result<void> Registry::save_deleted() const {
  json j = json::object();
  for (const auto& [k, v] : deleted_at_ms_) {
    j[k] = v;
  }
  return write_file_atomically(fs::path(instance_.data_dir) / "deleted.json", j.dump(2) + "\n");
}

Result<std::optional<RedrivePolicy>> Registry::check_redrive(std::string_view source,
                                                             std::string_view value,
                                                             std::string& normalised) const {
  constexpr std::string_view kName = "RedrivePolicy";
  normalised.clear();
  if (value.empty()) {
    return std::optional<RedrivePolicy>();
  }
  const json j = json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return bad_redrive(kName, value, "Redrive policy is not a valid JSON map.");
  }
  if (!j.contains("deadLetterTargetArn") || !j["deadLetterTargetArn"].is_string()) {
    return bad_redrive(kName, value, "The required parameter 'deadLetterTargetArn' is missing");
  }
  if (!j.contains("maxReceiveCount")) {
    return bad_redrive(kName, value, "The required parameter 'maxReceiveCount' is missing");
  }
  std::optional<int64_t> count;
  const json& c = j["maxReceiveCount"];
  if (c.is_number_integer()) {
    count = c.get<int64_t>();
  } else if (c.is_string()) {
    count = parse_int(c.get<std::string>());
  }
  if (!count || *count < 1 || *count > 1000) {
    return bad_redrive(
        kName, value,
        "Invalid value for maxReceiveCount: " + (c.is_string() ? c.get<std::string>() : c.dump()) +
            ", valid values are from 1 to 1000 both inclusive.");
  }
  const std::string arn = j["deadLetterTargetArn"].get<std::string>();
  const auto target = arn_to_queue(arn, instance_);
  const Entry* t = target ? find(*target) : nullptr;
  if (t == nullptr) {
    return bad_redrive(kName, value, "Dead-letter target does not exist.");
  }
  if (*target == source) {
    return bad_redrive(kName, value, "A queue cannot be its own dead-letter queue.");
  }
  // The source's type: its name says it (the engine enforces name and type together).
  if (t->queue->attributes().fifo_queue != source.ends_with(".fifo")) {
    return bad_redrive(kName, value, "Dead-letter queue must be same type of queue as the source.");
  }
  if (t->queue->attributes().fifo_queue) {
    // lqs: no cycle of FIFO dead-letter queues. A moved message is deduplicated by its
    // MessageId in the target (so that a move retried after a crash adds no copy), and the
    // target keeps that record 5 minutes: a message that went round the cycle would come
    // back to a queue that still remembers it, be answered as a duplicate, and be deleted
    // from the source — lost. (Seen in a test that allowed cycles.)
    std::string at = *target;
    for (size_t hops = 0; hops <= queues_.size(); ++hops) {
      const Entry* e = find(at);
      const auto next = e != nullptr ? e->queue->redrive_policy() : std::nullopt;
      if (!next) {
        break;
      }
      if (next->dead_letter_queue == source) {
        return bad_redrive(kName, value,
                           "lqs does not allow a cycle of FIFO dead-letter queues (" +
                               std::string(source) + " is already the dead-letter queue of " + at +
                               ").");
      }
      at = next->dead_letter_queue;
    }
  }
  if (auto allow = t->extra.find("RedriveAllowPolicy");
      allow != t->extra.end() && !allow->second.empty()) {
    const json a = json::parse(allow->second, nullptr, false);
    const std::string perm = a.is_object() ? a.value("redrivePermission", "allowAll") : "";
    bool allowed = perm == "allowAll";
    if (perm == "byQueue" && a.contains("sourceQueueArns")) {
      for (const json& x : a["sourceQueueArns"]) {
        allowed = allowed || (x.is_string() && x.get<std::string>() == queue_arn(source));
      }
    }
    if (!allowed) {
      return bad_redrive(kName, value,
                         "The dead-letter target's RedriveAllowPolicy does not allow this source "
                         "queue.");
    }
  }
  normalised = json{{"deadLetterTargetArn", arn}, {"maxReceiveCount", *count}}.dump();
  return std::optional<RedrivePolicy>(RedrivePolicy{*target, static_cast<uint32_t>(*count)});
}

Result<void> Registry::create_queue(std::string_view name, const AttributeMap& attributes,
                                    const TagMap& tags) {
  std::lock_guard lock(mu_);
  if (auto v = queue::validate_queue_name(name); !v) {
    return v;
  }
  // Validate every attribute before acting on any.
  QueueAttributes attrs;
  AttributeMap extra;
  const auto fifo_it = attributes.find("FifoQueue");
  const bool fifo = fifo_it != attributes.end() && fifo_it->second == "true";
  if (fifo != name.ends_with(".fifo")) {
    // "x.fifo" without FifoQueue=true, or FifoQueue=true on a name without the suffix.
    return make_error(ErrorCode::kInvalidParameterValue,
                      "Can only include alphanumeric characters, hyphens, or underscores. 1 to "
                      "80 in length");
  }
  for (const auto& [k, v] : attributes) {
    if (fifo && (k == "FifoQueue" || one_of(k, kFifoSettable))) {
      if (auto s = set_attribute(attrs, k, v); !s) {
        return s;
      }
    } else if (one_of(k, kEngineSettable) || one_of(k, kEngineCreateOnly)) {
      if (auto s = set_attribute(attrs, k, v); !s) {
        return s;
      }
    } else if (one_of(k, kReadOnly)) {
      return unknown_attribute(k);
    } else {
      if (auto s = check_extra(k, v); !s) {
        return s;
      }
      extra[k] = v;
    }
  }
  if (attrs.capacity_bytes > instance_.max_queue_bytes) {
    return make_error(ErrorCode::kInvalidAttributeValue,
                      "Invalid value for the parameter LqsCapacityBytes. Reason: this lqsd allows "
                      "at most " +
                          std::to_string(instance_.max_queue_bytes) +
                          " bytes per queue (--max-queue-bytes).");
  }
  if (extra.contains("KmsMasterKeyId") && extra.contains("SqsManagedSseEnabled") &&
      extra["SqsManagedSseEnabled"] == "true") {
    return make_error(ErrorCode::kInvalidAttributeName,
                      "You can use one type of server-side encryption (SSE) at one time. You can "
                      "either enable KMS SSE or SQS SSE.");
  }
  if (auto t = validate_tags(tags); !t) {
    return t;
  }
  std::optional<RedrivePolicy> redrive;
  if (auto it = extra.find("RedrivePolicy"); it != extra.end()) {
    std::string norm;
    auto r = check_redrive(name, it->second, norm);
    if (!r) {
      return std::move(r).error();
    }
    redrive = *r;
    it->second = norm;
  }
  if (auto it = extra.find("RedriveAllowPolicy"); it != extra.end()) {
    auto r = normalise_allow_policy(it->second);
    if (!r) {
      return std::move(r).error();
    }
    it->second = *r;
  }
  if (Entry* e = find(name)) {
    // Idempotent when every given attribute has the queue's value.
    const QueueAttributes have = e->queue->attributes();
    for (const auto& [k, v] : attributes) {
      std::string current;
      if (k == "FifoQueue" || one_of(k, kFifoSettable)) {
        if (get_attribute(have, k).value() == v) {
          continue;
        }
        current = get_attribute(have, k).value();
      } else if (one_of(k, kEngineSettable) || one_of(k, kEngineCreateOnly)) {
        current = get_attribute(have, k).value();
        const auto a = parse_int(current);
        const auto b = parse_int(v);
        if (a && b && *a == *b) {
          continue;
        }
      } else {
        auto it = e->extra.find(k);
        current = it == e->extra.end() ? "" : it->second;
      }
      const auto given = extra.find(k);  // normalised (the two redrive policies)
      if (current != (given != extra.end() ? given->second : v)) {
        return make_error(ErrorCode::kQueueNameExists,
                          "A queue already exists with the same name and a different value for "
                          "attribute " +
                              k);
      }
    }
    return {};
  }
  const int64_t now = now_unix_ms();
  if (auto it = deleted_at_ms_.find(name);
      it != deleted_at_ms_.end() && now - it->second < kDeleteQuietMs) {
    return make_error(ErrorCode::kQueueDeletedRecently,
                      "You must wait 60 seconds after deleting a queue before you can create "
                      "another with the same name.");
  }
  auto q = Queue::create(location(name), attrs);
  if (!q) {
    return std::move(q).error();
  }
  auto e = std::make_unique<Entry>();
  e->name = std::string(name);
  e->queue = std::make_shared<Queue>(std::move(q).value());
  if (redrive) {
    if (auto r = e->queue->set_redrive_policy(redrive); !r) {
      (void)Queue::remove(location(name));
      return r;
    }
  }
  e->extra = std::move(extra);
  e->tags = tags;
  if (auto s = save_metadata(*e); !s) {
    (void)Queue::remove(location(name));
    return s;
  }
  log("queue_created", "queue=" + e->name);
  queues_[e->name] = std::move(e);
  return {};
}

Result<void> Registry::delete_queue(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = queues_.find(name);
  if (it == queues_.end()) {
    return no_such_queue();
  }
  const std::string n = it->first;
  if (auto r = Queue::remove(location(n)); !r && r.error().code != ErrorCode::kQueueDoesNotExist) {
    return r;
  }
  std::error_code ec;
  fs::remove(fs::path(instance_.data_dir) / "queues" / (n + ".json"), ec);
  queues_.erase(it);
  const int64_t now = now_unix_ms();
  std::erase_if(deleted_at_ms_, [&](const auto& kv) { return now - kv.second >= kDeleteQuietMs; });
  deleted_at_ms_[n] = now;
  if (auto s = save_deleted(); !s) {
    log("deleted_times_not_saved", "queue=" + n + " error=\"" + s.error().message + "\"");
  }
  log("queue_deleted", "queue=" + n);
  return {};
}

Result<void> Registry::get_queue_url(std::string_view name) const {
  std::lock_guard lock(mu_);
  if (find(name) == nullptr) {
    return no_such_queue();
  }
  return {};
}

Result<ListQueuesResult> Registry::list_queues(std::string_view prefix,
                                               std::optional<int32_t> max_results,
                                               std::string_view next_token) const {
  std::lock_guard lock(mu_);
  return page([&](const Entry& e) { return e.name.starts_with(prefix); }, max_results, next_token);
}

Result<ListQueuesResult> Registry::page(const std::function<bool(const Entry&)>& wanted,
                                        std::optional<int32_t> max_results,
                                        std::string_view next_token) const {
  if (max_results && (*max_results < 1 || *max_results > 1000)) {
    return make_error(ErrorCode::kInvalidParameterValue,
                      "Value " + std::to_string(*max_results) +
                          " for parameter MaxResults is invalid. Reason: must be between 1 and "
                          "1000.");
  }
  std::string after;
  if (!next_token.empty()) {
    auto t = from_hex(next_token);
    if (!t) {
      return make_error(ErrorCode::kInvalidParameterValue, "Invalid NextToken value.");
    }
    after = *t;
  }
  const size_t limit = max_results ? static_cast<size_t>(*max_results) : 1000;
  ListQueuesResult out;
  for (auto it = after.empty() ? queues_.begin() : queues_.upper_bound(after); it != queues_.end();
       ++it) {
    if (!wanted(*it->second)) {
      continue;
    }
    if (out.names.size() == limit) {
      if (max_results) {
        out.next_token = to_hex(out.names.back());  // SQS: a token only when MaxResults given
      }
      break;
    }
    out.names.push_back(it->first);
  }
  return out;
}

Result<AttributeMap> Registry::get_queue_attributes(std::string_view name,
                                                    std::span<const std::string> names) const {
  std::lock_guard lock(mu_);
  const Entry* e = find(name);
  if (e == nullptr) {
    return no_such_queue();
  }
  const bool all = std::find(names.begin(), names.end(), "All") != names.end();
  const bool fifo = e->queue->attributes().fifo_queue;
  for (const std::string& n : names) {
    if (n != "All" && !one_of(n, kEngineSettable) && !one_of(n, kEngineCreateOnly) &&
        !one_of(n, kExtraSettable) && !one_of(n, kReadOnly) &&
        !(fifo && (n == "FifoQueue" || one_of(n, kFifoSettable)))) {
      return unknown_attribute(n);
    }
  }
  auto wanted = [&](std::string_view n, bool in_all) {
    return (all && in_all) || std::find(names.begin(), names.end(), n) != names.end();
  };
  AttributeMap out;
  const QueueAttributes a = e->queue->attributes();
  const QueueCounts c = e->queue->counts();
  auto put = [&](std::string_view n, bool in_all, const std::string& v) {
    if (wanted(n, in_all)) {
      out[std::string(n)] = v;
    }
  };
  put("ApproximateNumberOfMessages", true, std::to_string(c.visible));
  put("ApproximateNumberOfMessagesDelayed", true, std::to_string(c.delayed));
  put("ApproximateNumberOfMessagesNotVisible", true, std::to_string(c.in_flight));
  put("CreatedTimestamp", true, std::to_string(e->queue->created_unix_ms() / 1000));
  put("LastModifiedTimestamp", true, std::to_string(e->queue->last_modified_unix_ms() / 1000));
  put("QueueArn", true, queue_arn(name));
  for (std::string_view k : kEngineSettable) {
    put(k, !k.starts_with("Lqs"), get_attribute(a, k).value());  // lqs-only: by name
  }
  for (std::string_view k : kEngineCreateOnly) {
    put(k, false, get_attribute(a, k).value());  // lqs-only: by name, not in "All"
  }
  if (fifo) {
    put("FifoQueue", true, "true");
    for (std::string_view k : kFifoSettable) {
      put(k, true, get_attribute(a, k).value());
    }
  }
  // SSE-SQS is on by default for new queues, as on SQS (it changes nothing here: see README).
  auto sse = e->extra.find("SqsManagedSseEnabled");
  put("SqsManagedSseEnabled", true,
      sse != e->extra.end() ? sse->second
                            : (e->extra.contains("KmsMasterKeyId") ? "false" : "true"));
  for (const auto& [k, v] : e->extra) {
    if (k != "SqsManagedSseEnabled" && !(k == "KmsMasterKeyId" && v.empty())) {
      put(k, true, v);
    }
  }
  return out;
}

Result<void> Registry::set_queue_attributes(std::string_view name, const AttributeMap& attributes) {
  std::lock_guard lock(mu_);
  Entry* e = find(name);
  if (e == nullptr) {
    return no_such_queue();
  }
  if (attributes.empty()) {
    return make_error(ErrorCode::kMissingParameter,
                      "The request must contain the parameter Attributes.");
  }
  QueueAttributes attrs = e->queue->attributes();
  AttributeMap extra = e->extra;
  for (const auto& [k, v] : attributes) {
    if (attrs.fifo_queue && k == "FifoQueue") {
      return make_error(ErrorCode::kInvalidAttributeValue,
                        "Invalid value for the parameter FifoQueue. Reason: Modifying queue type "
                        "is not supported.");
    }
    if (attrs.fifo_queue && one_of(k, kFifoSettable)) {
      if (auto s = set_attribute(attrs, k, v); !s) {
        return s;
      }
    } else if (one_of(k, kEngineSettable)) {
      if (auto s = set_attribute(attrs, k, v); !s) {
        return s;
      }
    } else if (one_of(k, kEngineCreateOnly)) {
      return invalid_value(k, "the capacity of a queue is set when it is created");
    } else if (one_of(k, kReadOnly)) {
      return unknown_attribute(k);
    } else {
      if (auto s = check_extra(k, v); !s) {
        return s;
      }
      extra[k] = v;
    }
  }
  if (extra.contains("KmsMasterKeyId") && !extra["KmsMasterKeyId"].empty() &&
      extra.contains("SqsManagedSseEnabled") && extra["SqsManagedSseEnabled"] == "true") {
    return make_error(ErrorCode::kInvalidAttributeName,
                      "You can use one type of server-side encryption (SSE) at one time. You can "
                      "either enable KMS SSE or SQS SSE.");
  }
  std::optional<std::optional<RedrivePolicy>> redrive;  // outer: was it given at all
  if (auto it = attributes.find("RedrivePolicy"); it != attributes.end()) {
    std::string norm;
    auto r = check_redrive(name, it->second, norm);
    if (!r) {
      return std::move(r).error();
    }
    redrive = *r;
    if (norm.empty()) {
      extra.erase("RedrivePolicy");
    } else {
      extra["RedrivePolicy"] = norm;
    }
  }
  if (auto it = attributes.find("RedriveAllowPolicy"); it != attributes.end()) {
    auto r = normalise_allow_policy(it->second);
    if (!r) {
      return std::move(r).error();
    }
    if (r->empty()) {
      extra.erase("RedriveAllowPolicy");
    } else {
      extra["RedriveAllowPolicy"] = *r;
    }
  }
  if (auto s = e->queue->set_attributes(attrs); !s) {
    return s;
  }
  if (redrive) {
    if (auto s = e->queue->set_redrive_policy(*redrive); !s) {
      return s;
    }
  }
  e->extra = std::move(extra);
  if (auto s = save_metadata(*e); !s) {
    return s;
  }
  log("queue_attributes_set", "queue=" + e->name);
  return {};
}

Result<void> Registry::purge_queue(std::string_view name) {
  std::lock_guard lock(mu_);
  Entry* e = find(name);
  if (e == nullptr) {
    return no_such_queue();
  }
  const int64_t now = now_unix_ms();
  if (now - e->last_purge_ms < kPurgeQuietMs) {
    return make_error(
        ErrorCode::kPurgeQueueInProgress,
        "Only one PurgeQueue operation on " + e->name + " is allowed every 60 seconds.");
  }
  e->last_purge_ms = now;
  if (auto r = e->queue->purge(); !r) {
    return r;
  }
  log("queue_purged", "queue=" + e->name);
  return {};
}

Result<void> Registry::tag_queue(std::string_view name, const TagMap& tags) {
  std::lock_guard lock(mu_);
  Entry* e = find(name);
  if (e == nullptr) {
    return no_such_queue();
  }
  if (auto t = validate_tags(tags); !t) {
    return t;
  }
  for (const auto& [k, v] : tags) {
    e->tags[k] = v;
  }
  return save_metadata(*e);
}

Result<void> Registry::untag_queue(std::string_view name, std::span<const std::string> keys) {
  std::lock_guard lock(mu_);
  Entry* e = find(name);
  if (e == nullptr) {
    return no_such_queue();
  }
  for (const std::string& k : keys) {
    e->tags.erase(k);  // a missing key is a no-op, as on SQS
  }
  return save_metadata(*e);
}

Result<TagMap> Registry::list_queue_tags(std::string_view name) const {
  std::lock_guard lock(mu_);
  const Entry* e = find(name);
  if (e == nullptr) {
    return no_such_queue();
  }
  return e->tags;
}

Result<ListQueuesResult> Registry::list_dead_letter_source_queues(
    std::string_view dead_letter_queue, std::optional<int32_t> max_results,
    std::string_view next_token) const {
  std::lock_guard lock(mu_);
  if (find(dead_letter_queue) == nullptr) {
    return no_such_queue();
  }
  return page(
      [&](const Entry& e) {
        const auto policy = e.queue->redrive_policy();
        return policy && policy->dead_letter_queue == dead_letter_queue;
      },
      max_results, next_token);
}

namespace {

constexpr std::string_view kPermissionActions[] = {"*",
                                                   "ChangeMessageVisibility",
                                                   "DeleteMessage",
                                                   "GetQueueAttributes",
                                                   "GetQueueUrl",
                                                   "ListDeadLetterSourceQueues",
                                                   "ListQueueTags",
                                                   "PurgeQueue",
                                                   "ReceiveMessage",
                                                   "SendMessage"};
constexpr size_t kMaxActionsPerStatement = 7;
constexpr size_t kMaxStatements = 20;

bool is_label_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

Error bad_label(std::string_view label, std::string_view reason) {
  return make_error(ErrorCode::kInvalidParameterValue,
                    "Value " + std::string(label) +
                        " for parameter Label is invalid. Reason: " + std::string(reason));
}

// A JSON value that is a string when there is one element, else an array (as SQS writes).
json one_or_many(const std::vector<std::string>& v) {
  return v.size() == 1 ? json(v.front()) : json(v);
}

}  // namespace

Result<void> Registry::add_permission(std::string_view name, std::string_view label,
                                      std::span<const std::string> account_ids,
                                      std::span<const std::string> actions) {
  std::lock_guard lock(mu_);
  Entry* e = find(name);
  if (e == nullptr) {
    return no_such_queue();
  }
  if (label.empty() || label.size() > 80 ||
      !std::all_of(label.begin(), label.end(), is_label_char)) {
    return bad_label(label,
                     "Can only include alphanumeric characters, hyphens, or underscores. "
                     "1 to 80 in length");
  }
  if (account_ids.empty()) {
    return make_error(ErrorCode::kMissingParameter,
                      "The request must contain the parameter AWSAccountIds.");
  }
  if (actions.empty()) {
    return make_error(ErrorCode::kMissingParameter,
                      "The request must contain the parameter Actions.");
  }
  std::vector<std::string> principals;
  for (const std::string& a : account_ids) {
    if (a.size() != 12 || !std::all_of(a.begin(), a.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      return make_error(ErrorCode::kInvalidParameterValue,
                        "Value " + a +
                            " for parameter AWSAccountIds is invalid. Reason: an "
                            "account id is 12 digits.");
    }
    principals.push_back("arn:aws:iam::" + a + ":root");
  }
  if (actions.size() > kMaxActionsPerStatement) {
    return make_error(ErrorCode::kOverLimit, "A policy statement can list at most 7 actions; " +
                                                 std::to_string(actions.size()) + " were given.");
  }
  std::vector<std::string> sqs_actions;
  for (const std::string& a : actions) {
    if (!one_of(a, kPermissionActions)) {
      return make_error(ErrorCode::kInvalidParameterValue,
                        "Value " + a +
                            " for parameter ActionName is invalid. Reason: Please "
                            "refer to the appropriate WSDL for a list of valid "
                            "actions.");
    }
    sqs_actions.push_back("SQS:" + a);
  }
  json policy = json::object();
  if (auto it = e->extra.find("Policy"); it != e->extra.end() && !it->second.empty()) {
    policy = json::parse(it->second, nullptr, false);
    if (policy.is_discarded() || !policy.is_object()) {
      return make_error(ErrorCode::kInvalidParameterValue,
                        "The queue's Policy attribute is not a JSON object; set a valid policy "
                        "before adding permissions.");
    }
  }
  if (!policy.contains("Statement") || !policy["Statement"].is_array()) {
    policy["Version"] = "2012-10-17";
    policy["Id"] = queue_arn(name) + "/SQSDefaultPolicy";
    policy["Statement"] = json::array();
  }
  for (const json& st : policy["Statement"]) {
    if (st.is_object() && st.value("Sid", "") == label) {
      return bad_label(label, "Already exists.");
    }
  }
  if (policy["Statement"].size() >= kMaxStatements) {
    return make_error(ErrorCode::kOverLimit, "A policy can have at most 20 statements.");
  }
  policy["Statement"].push_back({{"Sid", std::string(label)},
                                 {"Effect", "Allow"},
                                 {"Principal", {{"AWS", one_or_many(principals)}}},
                                 {"Action", one_or_many(sqs_actions)},
                                 {"Resource", queue_arn(name)}});
  const std::string before = e->extra["Policy"];
  e->extra["Policy"] = policy.dump();
  if (auto s = save_metadata(*e); !s) {
    e->extra["Policy"] = before;
    return s;
  }
  return {};
}

Result<void> Registry::remove_permission(std::string_view name, std::string_view label) {
  std::lock_guard lock(mu_);
  Entry* e = find(name);
  if (e == nullptr) {
    return no_such_queue();
  }
  auto it = e->extra.find("Policy");
  json policy = it == e->extra.end() ? json() : json::parse(it->second, nullptr, false);
  if (!policy.is_object() || !policy.contains("Statement") || !policy["Statement"].is_array()) {
    return bad_label(label, "can't find label.");
  }
  json& statements = policy["Statement"];
  const auto before = statements.size();
  statements.erase(std::remove_if(statements.begin(), statements.end(),
                                  [&](const json& st) {
                                    return st.is_object() && st.value("Sid", "") == label;
                                  }),
                   statements.end());
  if (statements.size() == before) {
    return bad_label(label, "can't find label.");
  }
  const std::string old = it->second;
  if (statements.empty()) {
    e->extra.erase(it);  // no statement left: the queue has no Policy any more
  } else {
    it->second = policy.dump();
  }
  if (auto s = save_metadata(*e); !s) {
    e->extra["Policy"] = old;
    return s;
  }
  return {};
}

std::vector<std::string> Registry::queue_names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(queues_.size());
  for (const auto& [k, v] : queues_) {
    out.push_back(k);
  }
  return out;
}

std::shared_ptr<Queue> Registry::queue(std::string_view name) const {
  std::lock_guard lock(mu_);
  const Entry* e = find(name);
  return e == nullptr ? nullptr : e->queue;
}

}  // namespace lqs::daemon
