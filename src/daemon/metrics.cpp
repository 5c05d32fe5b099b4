// Copyright lqs authors.
#include "daemon/metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string_view>
#include <vector>

namespace lqs::daemon {
namespace {

struct Family {
  std::string_view name;
  std::string_view type;
  std::string_view help;
  uint64_t (*value)(const QueueStats& st, int64_t now_unix_ms);  // the sample of one queue
};

uint64_t age_seconds(const QueueStats& st, int64_t now_unix_ms) {
  return st.oldest_sent_unix_ms == 0 || st.oldest_sent_unix_ms > now_unix_ms
             ? 0
             : static_cast<uint64_t>(now_unix_ms - st.oldest_sent_unix_ms) / 1000;
}

// Per-queue families, in output order; each knows where its value comes from.
constexpr Family kFamilies[] = {
    {"lqs_queue_messages_visible", "gauge",
     "Messages available for retrieval (ApproximateNumberOfMessagesVisible).",
     [](const QueueStats& st, int64_t) { return st.counts.visible; }},
    {"lqs_queue_messages_in_flight", "gauge",
     "Messages received and not yet deleted or visible again "
     "(ApproximateNumberOfMessagesNotVisible).",
     [](const QueueStats& st, int64_t) { return st.counts.in_flight; }},
    {"lqs_queue_messages_delayed", "gauge",
     "Messages waiting out a delay (ApproximateNumberOfMessagesDelayed).",
     [](const QueueStats& st, int64_t) { return st.counts.delayed; }},
    {"lqs_queue_oldest_message_age_seconds", "gauge",
     "Age of the oldest message in the queue, 0 when empty (ApproximateAgeOfOldestMessage).",
     age_seconds},
    {"lqs_queue_messages_sent_total", "counter",
     "Messages accepted by send (NumberOfMessagesSent).",
     [](const QueueStats& st, int64_t) { return st.sent_total; }},
    {"lqs_queue_messages_received_total", "counter",
     "Messages returned by receive (NumberOfMessagesReceived).",
     [](const QueueStats& st, int64_t) { return st.received_total; }},
    {"lqs_queue_empty_receives_total", "counter",
     "Receives that returned no message (NumberOfEmptyReceives).",
     [](const QueueStats& st, int64_t) { return st.empty_receives_total; }},
    {"lqs_queue_messages_deleted_total", "counter",
     "DeleteMessage calls with a valid receipt handle (NumberOfMessagesDeleted).",
     [](const QueueStats& st, int64_t) { return st.deleted_total; }},
    {"lqs_queue_dlq_moves_total", "counter",
     "Messages moved from this queue to its dead-letter queue by its RedrivePolicy.",
     [](const QueueStats& st, int64_t) { return st.dlq_moves_total; }},
    {"lqs_queue_fifo_dedup_evicted_total", "counter",
     "FIFO deduplication records dropped before their 5 minutes because the queue held as many "
     "as it can (4 per message slot).",
     [](const QueueStats& st, int64_t) { return st.fifo_dedup_evicted_total; }},
    {"lqs_queue_journal_overflows_total", "counter",
     "Times the queue's durability journal lost events (full, lqsd absent, a stalled producer, "
     "or the queue just made durable); lqsd answers each with a snapshot of the whole queue.",
     [](const QueueStats& st, int64_t) { return st.journal_overflows_total; }},
};

void append_u64(std::string& out, uint64_t v) { out += std::to_string(v); }

}  // namespace

std::string render_metrics(Registry& registry, int64_t now_unix_ms, const DaemonFigures& daemon) {
  struct Row {
    std::string queue;
    QueueStats st;
  };
  std::vector<Row> rows;
  for (const std::string& name : registry.queue_names()) {
    // Outside the registry's lock (stats() scans the slot table; requests take that lock).
    if (const std::shared_ptr<Queue> q = registry.queue(name)) {
      rows.push_back(Row{name, q->stats()});
    }
  }
  std::string out;
  out.reserve(512 + rows.size() * 8 * 96);
  for (const Family& fam : kFamilies) {
    out.append("# HELP ").append(fam.name).append(" ").append(fam.help).append("\n");
    out.append("# TYPE ").append(fam.name).append(" ").append(fam.type).append("\n");
    for (const Row& r : rows) {
      const uint64_t v = fam.value(r.st, now_unix_ms);
      // Queue names are [A-Za-z0-9_-]: nothing to escape in the label value.
      out.append(fam.name).append("{queue=\"").append(r.queue).append("\"} ");
      append_u64(out, v);
      out.push_back('\n');
    }
  }
  out.append("# HELP lqs_queues Queues in this instance.\n# TYPE lqs_queues gauge\nlqs_queues ");
  append_u64(out, rows.size());
  out.push_back('\n');
  // Process figures.
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    char buf[64];
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    (void)std::snprintf(buf, sizeof buf, "%.3f", cpu);
    out.append(
        "# HELP process_cpu_seconds_total User and system CPU time of lqsd.\n"
        "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ");
    out.append(buf).push_back('\n');
  }
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0;
  uint64_t resident_pages = 0;
  if (statm >> size_pages >> resident_pages) {
    const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    out.append(
        "# HELP process_resident_memory_bytes Resident memory of lqsd (shared segments "
        "included once touched).\n# TYPE process_resident_memory_bytes gauge\n"
        "process_resident_memory_bytes ");
    append_u64(out, resident_pages * page);
    out.push_back('\n');
  }
  out.append(
      "# HELP lqsd_long_polls_waiting ReceiveMessage calls over HTTP waiting for a message.\n"
      "# TYPE lqsd_long_polls_waiting gauge\nlqsd_long_polls_waiting ");
  append_u64(out, daemon.long_polls_waiting);
  out.push_back('\n');
  if (daemon.durability) {
    struct WalRow {
      const char* name;
      const char* type;
      const char* help;
      uint64_t value;
    };
    const WalRow wal[] = {
        {"lqsd_wal_bytes_total", "counter", "Bytes of write-ahead log made durable.",
         daemon.wal_bytes},
        {"lqsd_wal_fsyncs_total", "counter", "Write + fdatasync submissions (group commits).",
         daemon.wal_syncs},
        {"lqsd_wal_events_total", "counter",
         "Journal events (sends, deletes, visibility changes, purges) written to the log.",
         daemon.wal_events},
        {"lqsd_wal_snapshots_total", "counter", "Queue snapshots written to the log.",
         daemon.wal_snapshots},
        {"lqsd_wal_checkpoints_total", "counter", "Checkpoints completed (old log files removed).",
         daemon.wal_checkpoints},
        {"lqsd_wal_files_total", "counter", "Log files rolled to (or created at start).",
         daemon.wal_files_created},
        {"lqsd_wal_files_reused_total", "counter",
         "Of lqsd_wal_files_total, released log files reused (never zero-filled again).",
         daemon.wal_files_reused},
        {"lqsd_wal_commit_errors_total", "counter",
         "Failed log commits (nothing acknowledged; retried).", daemon.wal_commit_errors},
        {"lqsd_wal_no_space_errors_total", "counter",
         "Log commits that failed with ENOSPC (disk full).", daemon.wal_no_space_errors},
        {"lqsd_durable_queues", "gauge", "Queues with LqsDurability async or sync.",
         daemon.durable_queues},
    };
    for (const WalRow& r : wal) {
      out.append("# HELP ").append(r.name).append(" ").append(r.help).append("\n");
      out.append("# TYPE ").append(r.name).append(" ").append(r.type).append("\n");
      out.append(r.name).append(" ");
      append_u64(out, r.value);
      out.push_back('\n');
    }
  }
  return out;
}

}  // namespace lqs::daemon
