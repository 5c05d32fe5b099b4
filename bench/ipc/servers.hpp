// Copyright lqs authors. The servers lqs-bench starts for its peers (Debian's redis-server,
// beanstalkd and iox-roudi): one instance per kind, started on first use, on a Unix socket or
// a loopback port, in a private directory under /var/tmp, with persistence off unless the kind
// asks for it; stopped (SIGTERM, then SIGKILL) by stop_servers().
//
// Each server runs in its own process group with PR_SET_PDEATHSIG(SIGKILL), so it dies with
// lqs-bench even if lqs-bench itself is killed; the parent's blocked signals are unblocked
// before exec.
#ifndef LQS_BENCH_IPC_SERVERS_HPP_
#define LQS_BENCH_IPC_SERVERS_HPP_

#include <string>

namespace lqs::bench {

struct ServerInfo {
  bool available = false;  ///< the program is installed
  bool running = false;    ///< started and answering
  std::string addr;        ///< Unix socket path, or loopback TCP port; empty for RouDi
  std::string error;       ///< why it is not running (not installed, failed to start, ...)
  std::string command;     ///< the exact command line it was started with
};

/// Kinds: "redis" (no persistence), "redis_aof" (appendonly, appendfsync always), "beanstalkd"
/// (no binlog), "beanstalkd_fsync" (binlog, fsync on every write: -f0), "roudi" (iceoryx).
/// Starts the server on the first call; later calls return the same info.
const ServerInfo& ensure_server(const std::string& kind);

/// Stops every server started (SIGTERM, up to 5 s, then SIGKILL) and removes their
/// directories. Safe to call more than once.
void stop_servers() noexcept;

/// One line per server started: "kind: command".
std::string describe_servers();

}  // namespace lqs::bench

#endif  // LQS_BENCH_IPC_SERVERS_HPP_
