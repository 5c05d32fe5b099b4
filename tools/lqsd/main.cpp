// Copyright lqs authors. lqsd: the daemon that owns an lqs instance (a shm root and a data
// directory). Today it holds the instance lock, reconciles and adopts the queues, applies a
// declared queue file, runs the housekeeping agent and serves /metrics over HTTP; the SQS API
// on that port and dead-letter moves are later work (see README).
//
//   lqsd [--shm-root DIR] [--data-dir DIR] [--listen HOST:PORT] [--config FILE] [--sigv4] ...
//   (each also from LQS_SHM_ROOT, LQS_DATA_DIR, LQS_LISTEN, LQS_CONFIG, LQS_SIGV4)
#include "daemon/durability.hpp"
#include "daemon/housekeeper.hpp"
#include "daemon/long_poll.hpp"
#include "daemon/metrics.hpp"
#include "daemon/move_tasks.hpp"
#include "daemon/registry.hpp"
#include "daemon/sigv4.hpp"
#include "daemon/sqs_api.hpp"
#include "daemon/sqs_http.hpp"
#include "http/server.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

namespace {

using lqs::daemon::AttributeMap;
using lqs::daemon::Registry;
using lqs::daemon::TagMap;
using nlohmann::json;

// One line per event: time, level, component, event, then key=value fields.
void log_line(std::string_view level, std::string_view component, std::string_view event,
              std::string_view fields) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  (void)gmtime_r(&t, &tm);
  char ts[32];
  (void)std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  (void)std::fprintf(stderr, "ts=%s.%03dZ level=%.*s component=%.*s event=%.*s%s%.*s\n", ts,
                     static_cast<int>(ms), static_cast<int>(level.size()), level.data(),
                     static_cast<int>(component.size()), component.data(),
                     static_cast<int>(event.size()), event.data(), fields.empty() ? "" : " ",
                     static_cast<int>(fields.size()), fields.data());
}

void info(std::string_view event, const std::string& fields) {
  log_line("info", "lqsd", event, fields);
}

int fail(const std::string& message) {
  log_line("error", "lqsd", "exit", "error=\"" + message + "\"");
  (void)std::fprintf(stderr, "lqsd: %s\n", message.c_str());
  return 1;
}

std::string value_string(const json& v) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_boolean()) {
    return v.get<bool>() ? "true" : "false";
  }
  return v.dump();  // numbers; objects (a Policy given inline) as JSON text
}

// Applies a declared queue file: {"queues": [{"name", "attributes": {}, "tags": {}}]}.
// Idempotent: existing queues get the declared attributes and tags.
// YAML → the same JSON structure: mappings become objects, sequences arrays, and every
// scalar a string (attribute values travel as strings anyway).
json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) {
        o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      }
      return o;
    }
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& e : n) {
        a.push_back(yaml_to_json(e));
      }
      return a;
    }
    case YAML::NodeType::Scalar:
      return n.as<std::string>();
    default:
      return nullptr;
  }
}

// Also reads the optional `auth` section into `auth` (sigv4.hpp), before any queue is touched;
// `auth.sigv4` set on entry (--sigv4) stays set.
bool apply_config(Registry& registry, const std::string& path, std::string& error,
                  lqs::daemon::sigv4::AuthConfig& auth) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read config " + path + ": " +
            std::strerror(errno);  // NOLINT(concurrency-mt-unsafe): single-threaded
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  json j;
  if (path.ends_with(".yaml") || path.ends_with(".yml")) {
    try {
      j = yaml_to_json(YAML::Load(ss.str()));
    } catch (const YAML::Exception& e) {
      error = "config " + path + ": not valid YAML: " + e.what();
      return false;
    }
  } else {
    j = json::parse(ss.str(), nullptr, false);
  }
  if (j.is_discarded() || !j.is_object()) {
    error = "config " + path + ": not a JSON (or YAML) object with a \"queues\" list";
    return false;
  }
  for (const auto& [k, v] : j.items()) {
    if (k != "queues" && k != "auth") {
      error = "config " + path + ": unknown key \"" + k + "\" (expected \"queues\", \"auth\")";
      return false;
    }
  }
  if (j.contains("auth")) {
    auto a = lqs::daemon::sigv4::parse_auth_config(j["auth"]);
    if (!a) {
      error = "config " + path + ": " + a.error().message;
      return false;
    }
    a->sigv4 = a->sigv4 || auth.sigv4;
    auth = std::move(*a);
  }
  if (auth.sigv4 && auth.credentials.empty()) {
    error = "config " + path + ": SigV4 verification is on but auth.credentials is empty";
    return false;
  }
  const json queues = j.value("queues", json::array());
  if (!queues.is_array()) {
    error = "config " + path + ": \"queues\" must be an array";
    return false;
  }
  for (const json& q : queues) {
    if (!q.is_object() || !q.contains("name") || !q["name"].is_string()) {
      error = "config " + path + ": every queue needs a \"name\" string";
      return false;
    }
    const std::string name = q["name"].get<std::string>();
    AttributeMap attrs;
    TagMap tags;
    // Named copies: items() of a temporary would dangle.
    const json declared_attrs = q.value("attributes", json::object());
    const json declared_tags = q.value("tags", json::object());
    if (!declared_attrs.is_object() || !declared_tags.is_object()) {
      error = "config " + path + ": queue " + name + ": attributes and tags must be objects";
      return false;
    }
    for (const auto& [k, v] : declared_attrs.items()) {
      attrs[k] = value_string(v);
    }
    for (const auto& [k, v] : declared_tags.items()) {
      tags[k] = value_string(v);
    }
    auto c = registry.create_queue(name, attrs, tags);
    if (!c && c.error().code == lqs::ErrorCode::kQueueNameExists) {
      AttributeMap settable = attrs;
      std::erase_if(settable, [](const auto& kv) { return kv.first.starts_with("LqsCapacity"); });
      c = settable.empty() ? lqs::Result<void>{} : registry.set_queue_attributes(name, settable);
    }
    if (c && !tags.empty()) {
      c = registry.tag_queue(name, tags);
    }
    if (!c) {
      error = "config " + path + ": queue " + name + ": " +
              std::string(lqs::sqs_legacy_code(c.error().code)) + ": " + c.error().message;
      return false;
    }
    info("queue_declared", "queue=" + name);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lqsd: the lqs daemon. Owns one instance (a shm root and a data directory)."};
  std::string shm_root = lqs::default_shm_root();
  std::string data_dir = "lqs-data";
  std::string listen = "127.0.0.1:9324";
  std::string config;
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  int64_t interval_ms = 1000;
  app.add_option("--shm-root", shm_root, "directory of the queue segments")
      ->envname("LQS_SHM_ROOT")
      ->capture_default_str();
  app.add_option("--data-dir", data_dir, "directory of queue metadata and the instance lock")
      ->envname("LQS_DATA_DIR")
      ->capture_default_str();
  app.add_option("--listen", listen,
                 "HOST:PORT of the HTTP port: the SQS API, /metrics and /health; port 0 picks a "
                 "free port, printed in the ready line")
      ->envname("LQS_LISTEN")
      ->capture_default_str();
  app.add_option("--config", config,
                 "JSON or YAML (.yaml/.yml) file declaring queues, applied at start-up, and "
                 "optionally credentials (auth, below)")
      ->envname("LQS_CONFIG");
  app.add_option("--region", region, "region in queue ARNs")->capture_default_str();
  app.add_option("--account-id", account_id, "12-digit account id in queue ARNs")
      ->capture_default_str();
  app.add_option("--housekeeping-interval-ms", interval_ms,
                 "how often every queue is swept for expired leases, delays and retention (a "
                 "large queue: no sooner than 100 times its last sweep's duration)")
      ->check(CLI::Range(int64_t{10}, int64_t{3'600'000}))
      ->capture_default_str();
  uint64_t max_queue_bytes = uint64_t{8} << 30;
  app.add_option("--max-queue-bytes", max_queue_bytes,
                 "largest LqsCapacityBytes a CreateQueue may ask for (reserved in the shm root "
                 "when the queue is created)")
      ->check(CLI::Range(uint64_t{2} << 20, uint64_t{64} << 30))
      ->capture_default_str();
  int64_t idle_timeout_s = 60;
  app.add_option("--http-idle-timeout", idle_timeout_s,
                 "seconds a connection may take to send a request (slow clients are closed "
                 "after it) or stay idle between requests")
      ->check(CLI::Range(int64_t{1}, int64_t{3600}))
      ->capture_default_str();
  unsigned http_threads = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
  app.add_option("--http-threads", http_threads,
                 "HTTP I/O threads (default: the number of CPUs, at most 4)")
      ->check(CLI::Range(1u, 64u));
  size_t max_connections = 10000;
  app.add_option("--max-connections", max_connections,
                 "HTTP connections served at once (each waiting long poll holds one); "
                 "further ones are closed")
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}))
      ->capture_default_str();
  std::string durability_backend = "auto";
  app.add_option("--durability-backend", durability_backend,
                 "how the write-ahead log is written: auto (io_uring, else pwrite), io_uring, "
                 "pwrite, or off (no log: LqsDurability async/sync queues act as memory and "
                 "sync sends fail)")
      ->check(CLI::IsMember({"auto", "io_uring", "pwrite", "off"}))
      ->envname("LQS_DURABILITY_BACKEND")
      ->capture_default_str();
  int64_t durability_delay_ms = 10;
  app.add_option("--durability-max-delay-ms", durability_delay_ms,
                 "LqsDurability=async: the longest lqsd sleeps between log writes (when it "
                 "cannot keep up, events wait longer: README, Differences)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}))
      ->capture_default_str();
  uint64_t checkpoint_mib = 256;
  app.add_option("--checkpoint-mib", checkpoint_mib,
                 "log written between checkpoints, at least (and at least twice what the last "
                 "checkpoint wrote); bounds recovery time and disk use")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
      ->capture_default_str();
  uint64_t wal_file_mib = 64;
  app.add_option("--wal-file-mib", wal_file_mib, "size of each preallocated log file")
      ->check(CLI::Range(uint64_t{1}, uint64_t{4096}))
      ->capture_default_str();
  lqs::daemon::sigv4::AuthConfig auth;
  app.add_flag("--sigv4", auth.sigv4,
               "require SigV4-signed SQS requests, with the credentials of the --config file's "
               "auth section (an auth section alone turns this on too)")
      ->envname("LQS_SIGV4");
  app.footer(
      "Authentication is off by default: any or no credentials are accepted. To require SigV4 "
      "signatures, give the --config file an auth section:\n"
      "  auth:\n"
      "    sigv4: true\n"
      "    credentials:\n"
      "      - {access_key_id: AKIDEXAMPLE, secret_access_key: SECRET}\n"
      "(JSON: \"auth\": {\"sigv4\": true, \"credentials\": [{\"access_key_id\": ..., "
      "\"secret_access_key\": ...}]}). Unsigned or badly signed requests then get "
      "MissingAuthenticationToken, InvalidClientTokenId, SignatureDoesNotMatch or "
      "RequestExpired, as from SQS.");
  CLI11_PARSE(app, argc, argv);
  if (auth.sigv4 && config.empty()) {
    return fail(
        "--sigv4 needs credentials: give a --config file with an auth section "
        "(see lqsd --help)");
  }

  // Long polls hold a connection each: take every file descriptor the hard limit allows.
  if (rlimit nofile{};
      ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &nofile);
  }

  // Block the stop signals before any thread or child exists; they are taken synchronously.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &stop, nullptr) != 0) {
    return fail("cannot block signals");
  }

  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return fail("cannot create data directory " + data_dir + ": " + ec.message());
  }
  // One daemon per instance: an exclusive lock on <data_dir>/lqsd.lock, held until exit (the
  // kernel drops it when the process dies, however it dies).
  const std::string lock_path = data_dir + "/lqsd.lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd < 0) {
    return fail("cannot open " + lock_path);
  }
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    char other[32] = {};
    (void)!::pread(lock_fd, other, sizeof other - 1, 0);
    std::string pid(other);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) {
      pid.pop_back();
    }
    return fail("another lqsd" + (pid.empty() ? std::string() : " (pid " + pid + ")") +
                " already owns the instance in " + data_dir);
  }
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd, 0) != 0 || ::pwrite(lock_fd, me.data(), me.size(), 0) < 0) {
    return fail("cannot write " + lock_path);
  }

  lqs::daemon::Instance inst;
  inst.shm_root = shm_root;
  inst.data_dir = data_dir;
  inst.region = region;
  inst.account_id = account_id;
  inst.max_queue_bytes = max_queue_bytes;
  auto registry = Registry::open(
      inst, [](std::string_view component, std::string_view event, std::string_view fields) {
        // A segment lqsd cannot adopt (an older layout, a damaged header) is served by no one
        // until someone acts: a warning, not news.
        log_line(event == "queue_skipped" ? "warn" : "info", component, event, fields);
      });
  if (!registry) {
    return fail("cannot open the instance: " + registry.error().message);
  }
  Registry& reg = **registry;
  if (!config.empty()) {
    std::string error;
    if (!apply_config(reg, config, error, auth)) {
      return fail(error);
    }
  }
  // Durability: open the log (repairing a torn tail), put back the messages of queues whose
  // segments were lost (a reboot), then drain every durable queue's journal on its own thread
  // (whose first pass writes a checkpoint; a failing disk is logged and retried there).
  std::unique_ptr<lqs::daemon::DurabilityAgent> durability;
  if (durability_backend != "off") {
    lqs::daemon::DurabilityOptions dopt;
    dopt.wal_dir = data_dir + "/wal";
    dopt.backend = durability_backend;
    dopt.max_delay_ms = durability_delay_ms;
    dopt.checkpoint_bytes = checkpoint_mib << 20;
    dopt.wal_file_bytes = wal_file_mib << 20;
    auto agent = lqs::daemon::DurabilityAgent::open(
        reg, dopt, [](std::string_view component, std::string_view event, std::string_view fields) {
          log_line("info", component, event, fields);
        });
    if (!agent) {
      return fail("cannot open the write-ahead log in " + dopt.wal_dir + ": " +
                  agent.error().message);
    }
    durability = std::move(agent).value();
    auto restored = durability->restore(reg.recreated());
    if (!restored) {
      return fail("cannot restore from the write-ahead log: " + restored.error().message);
    }
  } else {
    info("durability", "backend=off note=async_and_sync_queues_are_memory_only");
  }
  std::atomic<bool> durability_stop{false};
  std::thread durability_thread;
  if (durability) {
    // The first pass here, before "ready": every durable queue is attached and snapshotted
    // (the startup checkpoint) before a client can send, so a client's first sends are
    // records of their own, not part of that snapshot. A failure (the disk) is logged and the
    // thread retries it.
    if (auto first = durability->do_work(); !first) {
      log_line("warn", "durability", "first_pass_failed",
               "error=\"" + first.error().message + "\" note=retried_on_the_durability_thread");
    }
    durability_thread = std::thread([&] { durability->run(durability_stop); });
  }
  // Every return from here on (a port in use, a bad move-task file...) stops and joins the
  // durability thread first: a joinable std::thread being destroyed calls std::terminate.
  struct JoinOnExit {
    std::atomic<bool>& stop;
    std::thread& thread;
    JoinOnExit(std::atomic<bool>& s, std::thread& t) : stop(s), thread(t) {}
    JoinOnExit(const JoinOnExit&) = delete;
    JoinOnExit& operator=(const JoinOnExit&) = delete;
    ~JoinOnExit() {
      if (thread.joinable()) {
        stop.store(true, std::memory_order_release);
        thread.join();
      }
    }
  } join_on_exit{durability_stop, durability_thread};
  lqs::daemon::Housekeeper keeper(reg, interval_ms);
  lqs::daemon::MoveTasks tasks(reg, data_dir + "/move_tasks.json");
  if (auto l = tasks.load(lqs::SystemClock::instance().unix_ms()); !l) {
    return fail("cannot load the message move tasks: " + l.error().message);
  }
  std::mutex tasks_mu;  // the HTTP thread starts/cancels/lists; this thread steps them
  const auto now_ms = [] { return lqs::SystemClock::instance().unix_ms(); };
  lqs::daemon::LongPoller poller;
  lqs::daemon::SqsApi api(reg, tasks, tasks_mu, now_ms, poller);
  lqs::daemon::SqsHttp sqs(api, auth.sigv4 ? lqs::daemon::sigv4::http_verifier(auth.credentials)
                                           : lqs::daemon::SqsHttp::Verifier{});
  if (auth.sigv4) {
    info("sigv4", "credentials=" + std::to_string(auth.credentials.size()));
  }
  lqs::http::ServerOptions http_options;
  http_options.listen = listen;
  http_options.max_connections = max_connections;
  http_options.threads = http_threads;
  http_options.idle_timeout = std::chrono::seconds(idle_timeout_s);
  auto server = lqs::http::Server::start(
      http_options, [&reg, &sqs, &poller, &durability](const lqs::http::Request& r,
                                                       const lqs::http::Respond& respond) {
        if (lqs::daemon::SqsHttp::accepts(r)) {
          sqs.handle(r, respond);
          return;
        }
        const std::string_view path = std::string_view(r.target).substr(0, r.target.find('?'));
        if (r.method != "GET" && r.method != "HEAD") {
          respond(lqs::http::Response{405,
                                      "text/plain; charset=utf-8",
                                      "lqsd serves the SQS API (POST), GET /metrics and GET "
                                      "/health\n",
                                      {}});
        } else if (path == "/metrics") {
          lqs::daemon::DaemonFigures figures;
          figures.long_polls_waiting = poller.pending();
          if (durability) {
            const lqs::daemon::DurabilityStats d = durability->stats();
            figures.durability = true;
            figures.wal_bytes = d.wal_bytes;
            figures.wal_syncs = d.syncs;
            figures.wal_events = d.events;
            figures.wal_snapshots = d.snapshots;
            figures.wal_checkpoints = d.checkpoints;
            figures.wal_files_created = d.wal_files_created;
            figures.wal_files_reused = d.wal_files_reused;
            figures.wal_commit_errors = d.commit_errors;
            figures.wal_no_space_errors = d.no_space_errors;
            figures.durable_queues = d.durable_queues;
          }
          respond(lqs::http::Response{
              200,
              "text/plain; version=0.0.4; charset=utf-8",
              lqs::daemon::render_metrics(reg, lqs::SystemClock::instance().unix_ms(), figures),
              {}});
        } else if (path == "/health") {
          respond(lqs::http::Response{200, "text/plain; charset=utf-8", "ok\n", {}});
        } else {
          respond(lqs::http::Response{404,
                                      "text/plain; charset=utf-8",
                                      "not found: lqsd serves the SQS API, /metrics and /health\n",
                                      {}});
        }
      });
  if (!server) {
    return fail(server.error().message);
  }
  const std::string bound = (*server)->local_address();
  info("ready", "pid=" + std::to_string(::getpid()) + " shm_root=" + shm_root +
                    " data_dir=" + data_dir +
                    " queues=" + std::to_string(reg.queue_names().size()) + " listen=" + bound);
  (void)std::printf("lqsd ready: pid %d, %zu queues, http://%s/metrics, shm root %s, data dir %s\n",
                    ::getpid(), reg.queue_names().size(), bound.c_str(), shm_root.c_str(),
                    data_dir.c_str());
  (void)std::fflush(stdout);

  for (;;) {
    {
      std::lock_guard lock(tasks_mu);
      if (const uint64_t moved = tasks.do_work(now_ms()); moved != 0) {
        info("move_tasks", "moved=" + std::to_string(moved));
      }
    }
    const auto r = keeper.do_work(lqs::SystemClock::instance().unix_ms());
    if (r.leases_expired + r.retention_expired + r.dead_writers_reclaimed + r.deletes_completed +
            r.dead_waiters_reaped !=
        0) {
      info("housekeeping", "queues=" + std::to_string(r.queues) +
                               " leases_expired=" + std::to_string(r.leases_expired) +
                               " retention_expired=" + std::to_string(r.retention_expired) +
                               " dead_writers=" + std::to_string(r.dead_writers_reclaimed) +
                               " deletes_completed=" + std::to_string(r.deletes_completed) +
                               " dead_waiters=" + std::to_string(r.dead_waiters_reaped));
    }
    timespec wait{};
    wait.tv_sec = interval_ms / 1000;
    wait.tv_nsec = (interval_ms % 1000) * 1'000'000;
    const int sig = sigtimedwait(&stop, nullptr, &wait);
    if (sig > 0) {
      info("shutdown", std::string("signal=") + (sig == SIGTERM  ? "SIGTERM"
                                                 : sig == SIGINT ? "SIGINT"
                                                                 : "SIGHUP"));
      break;
    }
  }
  poller.stop();  // answers the waiting long polls (empty) while the server still runs
  (*server)->stop();
  if (durability_thread.joinable()) {
    durability_stop.store(true, std::memory_order_release);
    durability_thread.join();  // a last pass writes what was journaled
  }
  return 0;
}
