// Copyright lqs authors. `lqs fsck` and `lqs dump`: check and describe queue segments.
//
// fsck runs a list of checkers, each of which reports on one subject (one queue segment, or
// lqsd's write-ahead log with `--wal [DIR]`) with a verdict and findings that say where and
// what. `--wal DIR --salvage-to OUT` also copies every intact record of the log into a new
// log at OUT (durability::Wal, pwrite backend) for an operator to put in place.
//
// Exit codes: the worst verdict: 0 healthy, 1 problems found (the segment opens; the
// problems are what recover() repairs, or inconsistencies to investigate; for the log, a torn
// tail that lqsd zeroes when it starts), 2 corrupt or unreadable (the segment does not open;
// the log has damage lqsd refuses to start on). With --salvage-to, the log counts with the
// verdict of the salvaged copy (0 once written and reopened), not the damaged one's.
#include "cli.hpp"
#include "durability/io_backend.hpp"
#include "durability/wal.hpp"
#include "shm/segment.hpp"
#include "shm/segment_layout.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace lqs::cli {

namespace {

enum class Verdict { kHealthy = 0, kProblems = 1, kCorrupt = 2 };

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kHealthy:
      return "healthy";
    case Verdict::kProblems:
      return "problems";
    case Verdict::kCorrupt:
      return "corrupt";
  }
  return "?";
}

struct Finding {
  std::string where;  ///< "header.magic @0", "slot 12", "file", ...
  std::string what;
};

/// What one checker found about one subject.
struct CheckReport {
  std::string kind;     ///< "queue" | "wal"
  std::string subject;  ///< queue name | the WAL directory
  std::string path;
  Verdict verdict = Verdict::kHealthy;
  std::vector<Finding> findings;
  json details = json::object();     ///< counts, what a repair did, ...
  std::vector<std::string> summary;  ///< text output: lines under the verdict
  /// What counts for the exit code when it is not `verdict` (a salvaged log: its copy's).
  std::optional<Verdict> exit_verdict;
};

using Checker = std::function<CheckReport()>;

// The segment header's fields read from raw bytes, trusting nothing (for a segment that does
// not validate, to say where it is wrong).
struct RawHeader {
  std::vector<uint8_t> bytes;  // up to kHeaderSize
  int64_t file_size = -1;
  int error = 0;  // errno of open/stat/read

  template <typename T>
  std::optional<T> at(size_t off) const {
    if (off + sizeof(T) > bytes.size()) return std::nullopt;
    T v;
    std::memcpy(&v, bytes.data() + off, sizeof v);
    return v;
  }
};

RawHeader read_raw_header(const std::string& path) {
  RawHeader r;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.error = errno;
    return r;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0) r.file_size = st.st_size;
  r.bytes.resize(shm::kHeaderSize);
  const ssize_t n = ::pread(fd, r.bytes.data(), r.bytes.size(), 0);
  r.error = n < 0 ? errno : 0;
  r.bytes.resize(n < 0 ? 0 : static_cast<size_t>(n));
  (void)::close(fd);
  return r;
}

#define LQS_HDR_OFF(field) offsetof(shm::SegmentHeader, field)

std::string hex64(uint64_t v) {
  char b[24];
  (void)std::snprintf(b, sizeof b, "0x%016llx", static_cast<unsigned long long>(v));
  return b;
}

// Where a validation failure lies, from the raw header.
Finding locate_corruption(const RawHeader& raw, const std::string& message) {
  Finding f{"segment", message};
  if (raw.file_size >= 0 && raw.file_size < static_cast<int64_t>(shm::kHeaderSize)) {
    f.where = "file (" + std::to_string(raw.file_size) + " bytes, header needs " +
              std::to_string(shm::kHeaderSize) + ")";
  } else if (message.find("magic") != std::string::npos) {
    f.where = "header.magic @" + std::to_string(LQS_HDR_OFF(magic)) + " = " +
              hex64(raw.at<uint64_t>(LQS_HDR_OFF(magic)).value_or(0)) + ", expected " +
              hex64(shm::kSegmentMagic);
  } else if (message.find("file size") != std::string::npos) {
    f.where = "file (" + std::to_string(raw.file_size) + " bytes; header.total_size @" +
              std::to_string(LQS_HDR_OFF(total_size)) + " says " +
              std::to_string(raw.at<uint64_t>(LQS_HDR_OFF(total_size)).value_or(0)) +
              "): truncated or extended";
  } else if (message.find("version") != std::string::npos ||
             message.find("initialised") != std::string::npos) {
    f.where = "header.layout_version @" + std::to_string(LQS_HDR_OFF(layout_version)) + " = " +
              std::to_string(raw.at<uint32_t>(LQS_HDR_OFF(layout_version)).value_or(0));
  } else if (message.find("geometry") != std::string::npos ||
             message.find("offsets") != std::string::npos ||
             message.find("count") != std::string::npos ||
             message.find("capacity") != std::string::npos) {
    f.where = "header geometry @" + std::to_string(LQS_HDR_OFF(slot_count)) + ".." +
              std::to_string(LQS_HDR_OFF(geometry_check) + 8);
  } else if (message.find("name") != std::string::npos) {
    f.where = "header.name @" + std::to_string(LQS_HDR_OFF(name));
  }
  return f;
}

// "slot 12: invalid state 7" -> {"slot 12", "invalid state 7"}.
Finding split_problem(const std::string& p) {
  const auto colon = p.find(": ");
  if (colon == std::string::npos) return Finding{"segment", p};
  return Finding{p.substr(0, colon), p.substr(colon + 2)};
}

json stats_json(const QueueStats& s) {
  return json{{"visible", s.counts.visible},
              {"in_flight", s.counts.in_flight},
              {"delayed", s.counts.delayed},
              {"sent_total", s.sent_total},
              {"received_total", s.received_total},
              {"empty_receives_total", s.empty_receives_total},
              {"deleted_total", s.deleted_total},
              {"dlq_moves_total", s.dlq_moves_total},
              {"oldest_sent_unix_ms", s.oldest_sent_unix_ms}};
}

json recovery_json(const RecoveryReport& r) {
  return json{{"slots_scanned", r.slots_scanned},
              {"dead_writers_reclaimed", r.dead_writers_reclaimed},
              {"publishes_completed", r.publishes_completed},
              {"leases_expired", r.leases_expired},
              {"deletes_completed", r.deletes_completed},
              {"retention_expired", r.retention_expired},
              {"chunks_reclaimed", r.chunks_reclaimed},
              {"free_hints_rebuilt", r.free_hints_rebuilt},
              {"dead_waiters_reaped", r.dead_waiters_reaped},
              {"dedup_records_expired", r.dedup_records_expired},
              {"fifo_groups_requeued", r.fifo_groups_requeued}};
}

// Checks one queue segment: validation (does it open?), then the invariants of Queue::fsck()
// on the segment as found (no recovery first); with `repair`, recover() and check again.
CheckReport check_queue_segment(const Instance& inst, const std::string& name, bool repair) {
  CheckReport r;
  r.kind = "queue";
  r.subject = name;
  r.path = shm::Segment::path_of(inst.shm_root, name);
  auto q = Queue::open_without_recovery(inst.location(name));
  if (!q) {
    r.verdict = Verdict::kCorrupt;
    const Error& e = q.error();
    if (e.code == ErrorCode::kCorruption || e.code == ErrorCode::kIncompatibleVersion) {
      r.findings.push_back(locate_corruption(read_raw_header(r.path), e.message));
    } else {
      r.findings.push_back(Finding{"file", std::string(sqs_shape(e.code)) + ": " + e.message});
    }
    return r;
  }
  for (const std::string& p : q->fsck()) r.findings.push_back(split_problem(p));
  if (repair) {
    r.details["repaired"] = recovery_json(q->recover());
    r.details["problems_before_repair"] = r.findings.size();
    r.findings.clear();
    for (const std::string& p : q->fsck()) r.findings.push_back(split_problem(p));
  }
  r.verdict = r.findings.empty() ? Verdict::kHealthy : Verdict::kProblems;
  r.details["stats"] = stats_json(q->stats());
  return r;
}

// --- The write-ahead log (`--wal [DIR]`, `--salvage-to OUT`) ---

// lqsd's record types by number (src/durability/FORMAT.md, "lqsd's records").
std::string wal_record_type_name(uint16_t type) {
  static const char* const kNames[] = {nullptr,      "kSend",      "kDelete",      "kVisibility",
                                       "kPurge",     "kSnapBegin", "kSnapMessage", "kSnapEnd",
                                       "kQueueGone", "kCheckpoint"};
  if (type >= 1 && type < std::size(kNames)) return kNames[type];
  return "type " + std::to_string(type);
}

// "1 file", "2 files".
std::string counted(uint64_t n, const std::string& one, const std::string& many = {}) {
  return std::to_string(n) + " " + (n == 1 ? one : many.empty() ? one + "s" : many);
}

// The log files in `dir` ("wal-<16 hex>.log"), in LSN order.
std::vector<std::string> wal_file_names(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() == 24 && n.starts_with("wal-") && n.ends_with(".log")) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// Where --salvage-to writes, and what it did.
struct Salvage {
  std::string to;
  bool ok = false;
  std::string error;  ///< why it failed (when !ok)
  uint64_t kept = 0;  ///< records copied (new LSNs 1..kept)
  uint64_t files = 0;
  std::vector<std::string> dropped;  ///< damaged stretches and the torn tail, not copied
};

// The salvaged log gets a commit (one write + fdatasync) each time this much is buffered.
constexpr uint64_t kSalvageCommitBytes = uint64_t{8} << 20;

// Copies what scan_wal visits into a new log at `to`, then reopens it with Wal::open.
class SalvageWriter {
 public:
  explicit SalvageWriter(const std::string& to) : backend_(durability::make_pwrite_backend()) {
    options_.dir = to;
    options_.backend = backend_.get();
    auto w = durability::Wal::open(options_);
    if (!w) {
      error_ = "cannot create the log: " + w.error().message;
      return;
    }
    wal_ = std::move(*w);
  }
  void add(uint16_t type, std::span<const std::byte> payload) {
    if (!wal_ || !error_.empty()) return;
    (void)wal_->append(type, payload);
    if (wal_->pending_bytes() >= kSalvageCommitBytes) commit();
  }
  // Commits the rest, closes the log and opens it again as lqsd would. "" or the error.
  std::string finish(uint64_t expected_records, uint64_t* files) {
    if (wal_ && error_.empty()) commit();
    wal_.reset();
    if (!error_.empty()) return error_;
    durability::WalOpenReport report;
    auto w = durability::Wal::open(options_, &report);
    if (!w) return "the salvaged log does not open: " + w.error().message;
    if (report.records != expected_records || report.torn_tail_truncated) {
      return "the salvaged log holds " + std::to_string(report.records) + " records, expected " +
             std::to_string(expected_records);
    }
    *files = (*w)->file_count();
    return "";
  }

 private:
  void commit() {
    if (auto c = wal_->commit(); !c) error_ = "cannot write the log: " + c.error().message;
  }

  std::unique_ptr<durability::IoBackend> backend_;
  durability::WalOptions options_;
  std::unique_ptr<durability::Wal> wal_;
  std::string error_;
};

// Checks the write-ahead log in `dir` (read-only, scan_wal in salvage mode): files, records,
// record types, a torn tail (problems: lqsd zeroes it when it starts) and every damaged
// stretch (corrupt: lqsd refuses to start). With `salvage`, copies the intact records.
CheckReport check_wal(const std::string& dir, Salvage* salvage) {
  CheckReport r;
  r.kind = "wal";
  r.subject = dir;
  r.path = dir;
  const std::vector<std::string> files = wal_file_names(dir);
  std::map<uint16_t, uint64_t> by_type;
  std::optional<SalvageWriter> writer;
  if (salvage != nullptr) writer.emplace(salvage->to);
  const auto scan = durability::scan_wal(
      dir, 1, durability::ScanMode::kSalvage,
      [&](uint64_t /*lsn*/, uint16_t type, std::span<const std::byte> payload) {
        ++by_type[type];
        if (writer) writer->add(type, payload);
        return true;
      });
  if (!scan) {
    r.verdict = Verdict::kCorrupt;
    r.findings.push_back(Finding{"log", "cannot read: " + scan.error().message});
    if (salvage != nullptr) salvage->error = "cannot read the log: " + scan.error().message;
    return r;
  }
  json types = json::object();
  std::string type_line;
  for (const auto& [type, count] : by_type) {
    const std::string name = wal_record_type_name(type);
    types[name] = count;
    type_line += (type_line.empty() ? "" : ", ") + name + " " + std::to_string(count);
  }
  r.details = json{{"files", files.size()},
                   {"records", scan->records},
                   {"last_lsn", scan->last_lsn},
                   {"record_types", types},
                   {"torn_tail", scan->torn_tail}};
  r.summary.push_back(counted(files.size(), "file") + ", " + counted(scan->records, "record") +
                      ", last LSN " + std::to_string(scan->last_lsn));
  if (!type_line.empty()) r.summary.push_back("records: " + type_line);
  for (const std::string& p : scan->problems) r.findings.push_back(split_problem(p));
  r.verdict = r.findings.empty() ? Verdict::kHealthy : Verdict::kCorrupt;
  if (scan->torn_tail) {
    r.findings.push_back(Finding{
        files.empty() ? std::string("newest file") : files.back(),
        "torn tail: the last write did not complete (never acknowledged); lqsd zeroes it when "
        "it starts"});
    r.verdict = std::max(r.verdict, Verdict::kProblems);
  }
  if (salvage != nullptr) {
    salvage->kept = scan->records;
    salvage->dropped = scan->problems;
    if (scan->torn_tail) {
      salvage->dropped.push_back((files.empty() ? std::string("newest file") : files.back()) +
                                 ": torn tail (a write that never completed)");
    }
    salvage->error = writer->finish(scan->records, &salvage->files);
    salvage->ok = salvage->error.empty();
  }
  return r;
}

json salvage_json(const Salvage& s) {
  json j = {{"to", s.to},
            {"ok", s.ok},
            {"records_kept", s.kept},
            {"files", s.files},
            {"dropped", s.dropped}};
  if (!s.ok) j["error"] = s.error;
  return j;
}

void print_salvage(const Salvage& s, const std::string& dir) {
  if (!s.ok) {
    (void)std::printf("salvage to %s failed: %s\n", s.to.c_str(), s.error.c_str());
    return;
  }
  (void)std::printf("salvaged to %s: %s kept (new LSNs 1..%llu), %s dropped\n", s.to.c_str(),
                    counted(s.kept, "record").c_str(), static_cast<unsigned long long>(s.kept),
                    counted(s.dropped.size(), "stretch", "stretches").c_str());
  for (const std::string& d : s.dropped) (void)std::printf("  dropped %s\n", d.c_str());
  (void)std::printf(
      "to use it: stop lqsd; mv %s %s.damaged; mv %s %s; start lqsd (it replays the salvaged "
      "log)\n",
      dir.c_str(), dir.c_str(), s.to.c_str(), dir.c_str());
}

json report_json(const CheckReport& r) {
  json findings = json::array();
  for (const Finding& f : r.findings)
    findings.push_back(json{{"where", f.where}, {"what", f.what}});
  return json{{"kind", r.kind},       {"subject", r.subject},
              {"path", r.path},       {"status", verdict_name(r.verdict)},
              {"findings", findings}, {"details", r.details}};
}

// lqs dump: the raw header as found, then (if the segment validates) what liblqs reads.
json dump_queue(const Instance& inst, const std::string& name, Verdict& verdict) {
  const std::string path = shm::Segment::path_of(inst.shm_root, name);
  const RawHeader raw = read_raw_header(path);
  json out = {{"queue", name}, {"path", path}};
  if (raw.error != 0 && raw.bytes.empty()) {
    out["error"] = std::string("cannot read: ") + std::strerror(raw.error);  // NOLINT
    verdict = Verdict::kCorrupt;
    return out;
  }
  out["file_size"] = raw.file_size;
  json h = json::object();
  // The header fields other processes rely on, as found: {name, offset, width, as hex}.
  struct Field {
    const char* name;
    size_t off;
    int width;
    bool hex;
  };
  static const Field kFields[] = {
      {"magic", LQS_HDR_OFF(magic), 8, true},
      {"layout_version", LQS_HDR_OFF(layout_version), 4, false},
      {"header_size", LQS_HDR_OFF(header_size), 4, false},
      {"total_size", LQS_HDR_OFF(total_size), 8, false},
      {"created_unix_ms", LQS_HDR_OFF(created_unix_ms), 8, false},
      {"queue_id", LQS_HDR_OFF(queue_id), 8, true},
      {"slot_count", LQS_HDR_OFF(slot_count), 4, false},
      {"ring_capacity", LQS_HDR_OFF(ring_capacity), 4, false},
      {"lane_count", LQS_HDR_OFF(lane_count), 4, false},
      {"lane_capacity", LQS_HDR_OFF(lane_capacity), 4, false},
      {"page_count", LQS_HDR_OFF(page_count), 4, false},
      {"page_size", LQS_HDR_OFF(page_size), 4, false},
      {"slots_off", LQS_HDR_OFF(slots_off), 8, false},
      {"slot_bits_off", LQS_HDR_OFF(slot_bits_off), 8, false},
      {"ring_off", LQS_HDR_OFF(ring_off), 8, false},
      {"lanes_off", LQS_HDR_OFF(lanes_off), 8, false},
      {"pages_off", LQS_HDR_OFF(pages_off), 8, false},
      {"arena_off", LQS_HDR_OFF(arena_off), 8, false},
      {"capacity_bytes", LQS_HDR_OFF(capacity_bytes), 8, false},
      {"geometry_check", LQS_HDR_OFF(geometry_check), 8, true},
      {"fifo_off", LQS_HDR_OFF(fifo_off), 8, false},
  };
  for (const Field& f : kFields) {
    const std::optional<uint64_t> v =
        f.width == 8 ? raw.at<uint64_t>(f.off) : std::optional<uint64_t>(raw.at<uint32_t>(f.off));
    if (v) h[f.name] = f.hex ? json(hex64(*v)) : json(*v);
  }
  if (raw.bytes.size() >= LQS_HDR_OFF(name) + sizeof(shm::SegmentHeader::name)) {
    const char* n = reinterpret_cast<const char*>(raw.bytes.data() + LQS_HDR_OFF(name));
    h["name"] = std::string(n, strnlen(n, sizeof(shm::SegmentHeader::name)));
  }
  out["header"] = std::move(h);
  auto q = Queue::open_without_recovery(inst.location(name));
  if (!q) {
    out["error"] = std::string(sqs_shape(q.error().code)) + ": " + q.error().message;
    verdict = Verdict::kCorrupt;
    return out;
  }
  const QueueAttributes a = q->attributes();
  json attrs = json::object();
  for (const char* k :
       {"VisibilityTimeout", "MessageRetentionPeriod", "MaximumMessageSize", "DelaySeconds",
        "ReceiveMessageWaitTimeSeconds", "LqsCapacityMessages", "LqsCapacityBytes", "FifoQueue",
        "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"}) {
    if (auto v = get_attribute(a, k)) attrs[k] = *v;
  }
  out["attributes"] = std::move(attrs);
  out["created_unix_ms"] = q->created_unix_ms();
  out["last_modified_unix_ms"] = q->last_modified_unix_ms();
  if (const auto p = q->redrive_policy()) {
    out["redrive_policy"] = {{"dead_letter_queue", p->dead_letter_queue},
                             {"max_receive_count", p->max_receive_count}};
  }
  out["stats"] = stats_json(q->stats());
  return out;
}

}  // namespace

void add_fsck_commands(CLI::App& app, const Instance& inst) {
  struct Options {
    std::vector<std::string> queues;
    bool all = false;
    bool repair = false;
    std::string dump_queue;
    CLI::Option* wal = nullptr;
    std::string wal_dir;
    std::string salvage_to;
  };
  static Options o;
  CLI::App* fsck = app.add_subcommand(
      "fsck",
      "Check queue segments and lqsd's write-ahead log: exit 0 healthy, 1 problems found, 2 "
      "corrupt or unreadable");
  fsck->group("lqs commands");
  fsck->add_option("queues", o.queues, "queue names (or URLs)");
  fsck->add_flag("--all", o.all, "every queue in the shm root");
  fsck->add_flag("--repair", o.repair,
                 "run recovery (what any process opening the queue does) and check again");
  o.wal = fsck->add_option("--wal", o.wal_dir,
                           "check lqsd's write-ahead log in DIR (default <data-dir>/wal), "
                           "read-only; a queue name right after a bare --wal is taken as DIR")
              ->expected(0, 1)
              ->type_name("[DIR]");
  fsck->add_option("--salvage-to", o.salvage_to,
                   "with --wal: copy every intact record into a new log in OUTDIR (new or "
                   "empty), to put in place of the damaged one")
      ->type_name("OUTDIR");
  fsck->callback([&inst] {
    namespace fs = std::filesystem;
    const bool wal = o.wal->count() > 0;
    if (!o.salvage_to.empty() && !wal) usage_error("--salvage-to needs --wal");
    if (o.queues.empty() && !o.all && !wal) usage_error("give queue names, --all or --wal");
    if (!o.queues.empty() && o.all) usage_error("give queue names or --all, not both");
    std::string wal_dir = o.wal_dir.empty() ? inst.data_dir + "/wal" : o.wal_dir;
    std::error_code ec;
    if (wal && !fs::is_directory(wal_dir, ec)) {
      usage_error("--wal: " + wal_dir +
                  (fs::exists(wal_dir, ec) ? " is not a directory" : ": no such directory"));
    }
    if (!o.salvage_to.empty()) {
      const fs::path to(o.salvage_to);
      if (fs::exists(to, ec) && (!fs::is_directory(to, ec) || !fs::is_empty(to, ec))) {
        usage_error("--salvage-to: " + o.salvage_to +
                    " exists and is not an empty directory (give a new one)");
      }
      const fs::path parent = to.has_parent_path() ? to.parent_path() : fs::path(".");
      if (!fs::is_directory(parent, ec)) {
        usage_error("--salvage-to: " + parent.string() + ": no such directory");
      }
    }
    std::vector<std::string> names;
    if (!o.queues.empty() || o.all) {
      for (const std::string& q : o.all ? Queue::list(inst.shm_root) : o.queues) {
        names.push_back(queue_name_of(q));
      }
    }
    std::vector<Checker> checkers;
    for (const std::string& n : names) {
      checkers.emplace_back([&inst, n] { return check_queue_segment(inst, n, o.repair); });
    }
    std::optional<Salvage> salvage;
    if (!o.salvage_to.empty()) salvage.emplace().to = o.salvage_to;
    if (wal) {
      checkers.emplace_back([&wal_dir, &salvage] {
        CheckReport r = check_wal(wal_dir, salvage ? &*salvage : nullptr);
        if (salvage) {
          r.details["salvage"] = salvage_json(*salvage);
          r.exit_verdict = salvage->ok ? Verdict::kHealthy : Verdict::kCorrupt;
        }
        return r;
      });
    }
    Verdict worst = Verdict::kHealthy;
    json reports = json::array();
    const bool as_json = inst.output_given && inst.output == "json";
    for (const Checker& c : checkers) {
      const CheckReport r = c();
      worst = std::max(worst, r.exit_verdict.value_or(r.verdict));
      if (as_json) {
        reports.push_back(report_json(r));
        continue;
      }
      if (r.subject == r.path) {
        (void)std::printf("%s: %s (%s)\n", r.kind.c_str(), verdict_name(r.verdict), r.path.c_str());
      } else {
        (void)std::printf("%s %s: %s (%s)\n", r.kind.c_str(), r.subject.c_str(),
                          verdict_name(r.verdict), r.path.c_str());
      }
      for (const std::string& line : r.summary) (void)std::printf("  %s\n", line.c_str());
      for (const Finding& f : r.findings) {
        (void)std::printf("  %s: %s\n", f.where.c_str(), f.what.c_str());
      }
      if (r.details.contains("repaired")) {
        (void)std::printf("  repaired: %s\n", r.details["repaired"].dump().c_str());
      }
      if (r.kind == "wal" && salvage) print_salvage(*salvage, r.path);
    }
    if (as_json) {
      (void)std::printf("%s\n",
                        json{{"status", verdict_name(worst)}, {"checks", reports}}.dump(4).c_str());
    } else if (checkers.empty()) {
      (void)std::printf("no queues in %s\n", inst.shm_root.c_str());
    }
    exit_code() = static_cast<int>(worst);
  });

  CLI::App* dump = app.add_subcommand(
      "dump", "Describe a queue segment: raw header, attributes, counts and counters (JSON)");
  dump->group("lqs commands");
  dump->add_option("queue", o.dump_queue, "queue name (or URL)")->required();
  dump->callback([&inst] {
    Verdict v = Verdict::kHealthy;
    const json out = dump_queue(inst, queue_name_of(o.dump_queue), v);
    (void)std::printf("%s\n", out.dump(4, ' ', false, json::error_handler_t::replace).c_str());
    exit_code() = static_cast<int>(v);
  });
}

}  // namespace lqs::cli
