// Copyright lqs authors.
#include "servers.hpp"

#include "harness.hpp"
#include "net.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace lqs::bench {
namespace {

struct Server {
  ServerInfo info;
  pid_t pid = -1;
  std::string dir;
};

std::map<std::string, Server>& registry() {
  static std::map<std::string, Server> r;
  return r;
}

bool on_path(const std::string& prog) {
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): parent only
  std::stringstream ss(path != nullptr ? path : "/usr/bin:/bin");
  std::string d;
  while (std::getline(ss, d, ':')) {
    if (access((d + "/" + prog).c_str(), X_OK) == 0) {
      return true;
    }
  }
  return false;
}

std::string tail_of(const std::string& file, size_t max_chars) {
  std::ifstream f(file);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  if (s.size() > max_chars) {
    s = "..." + s.substr(s.size() - max_chars);
  }
  for (char& c : s) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return s;
}

/// A loopback TCP port nobody listens on right now (bind to port 0, read it, close).
int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port = ntohs(sa.sin_port);
  }
  (void)close(fd);
  return port;
}

/// fork + exec `argv` in `dir`, stdout/stderr to dir/server.log, own process group, killed
/// with the parent.
pid_t start_process(const std::vector<std::string>& argv, const std::string& dir) {
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  }
  args.push_back(nullptr);
  const std::string log = dir + "/server.log";
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    (void)setpgid(0, 0);
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
      _exit(127);
    }
    sigset_t all;
    sigfillset(&all);
    (void)sigprocmask(SIG_UNBLOCK, &all, nullptr);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      (void)dup2(fd, 1);
      (void)dup2(fd, 2);
      (void)close(fd);
    }
    const int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) {
      (void)dup2(nul, 0);
      (void)close(nul);
    }
    if (chdir(dir.c_str()) != 0) {
      _exit(126);
    }
    execvp(args[0], args.data());
    _exit(127);
  }
  if (pid > 0) {
    (void)setpgid(pid, pid);
  }
  return pid;
}

bool exited(pid_t pid, int& status) { return waitpid(pid, &status, WNOHANG) == pid; }

/// Waits up to 10 s until `ready()` says yes; false if the process died or time ran out.
template <typename Ready>
bool wait_ready(Server& s, Ready&& ready) {
  const int64_t give_up = now_ns() + 10'000'000'000;
  while (now_ns() < give_up) {
    int status = 0;
    if (exited(s.pid, status)) {
      s.pid = -1;
      s.info.error = "exited at start (status " + std::to_string(status) +
                     "): " + tail_of(s.dir + "/server.log", 300);
      return false;
    }
    if (ready()) {
      return true;
    }
    usleep(20'000);
  }
  s.info.error = "not ready after 10 s: " + tail_of(s.dir + "/server.log", 300);
  return false;
}

/// Another RouDi holds iceoryx's machine-wide lock: we must not start (or talk to) it.
bool roudi_lock_held() {
  const int fd = open("/tmp/iox-unique-roudi.lock", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  const bool held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  (void)close(fd);  // releases our lock if we got it
  return held;
}

void start(const std::string& kind, Server& s) {
  const bool redis = kind.rfind("redis", 0) == 0;
  const bool beanstalk = kind.rfind("beanstalkd", 0) == 0;
  const std::string prog = redis ? "redis-server" : beanstalk ? "beanstalkd" : "iox-roudi";
  if (!on_path(prog)) {
    s.info.error = prog + " is not installed (apt-get install " +
                   (redis       ? "redis-server"
                    : beanstalk ? "beanstalkd"
                                : "iceoryx") +
                   "; bench/run-all.sh does)";
    return;
  }
  s.info.available = true;
  char tmpl[] = "/var/tmp/lqs-bench-srv-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    s.info.error = std::string("mkdtemp: ") + std::strerror(errno);  // NOLINT
    return;
  }
  s.dir = tmpl;
  std::vector<std::string> argv;
  if (redis) {
    s.info.addr = s.dir + "/redis.sock";
    argv = {"redis-server",
            "--port",
            "0",
            "--unixsocket",
            s.info.addr,
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--dir",
            s.dir,
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--appendonly",
            kind == "redis_aof" ? "yes" : "no"};
    if (kind == "redis_aof") {
      argv.insert(argv.end(), {"--appendfsync", "always"});
    }
  } else if (beanstalk) {
    const int port = free_loopback_port();
    if (port <= 0) {
      s.info.error = "no free loopback port";
      return;
    }
    s.info.addr = std::to_string(port);
    argv = {"beanstalkd", "-l", "127.0.0.1", "-p", s.info.addr, "-z", "1100000"};
    if (kind == "beanstalkd_fsync") {
      (void)mkdir((s.dir + "/binlog").c_str(), 0700);
      argv.insert(argv.end(), {"-b", s.dir + "/binlog", "-f0"});
    }
  } else {
    if (roudi_lock_held()) {
      s.info.error =
          "another iceoryx RouDi is running on this machine (iceoryx 2.0 allows one per machine: "
          "fixed names /tmp/iox-unique-roudi.lock, /tmp/roudi, /dev/shm/iceoryx_mgmt)";
      return;
    }
    argv = {"iox-roudi", "-l", "warning"};
  }
  for (const auto& a : argv) {
    s.info.command += (s.info.command.empty() ? "" : " ") + (a.empty() ? "''" : a);
  }
  s.pid = start_process(argv, s.dir);
  if (s.pid < 0) {
    s.info.error = std::string("fork: ") + std::strerror(errno);  // NOLINT
    return;
  }
  bool ok = false;
  if (redis) {
    ok = wait_ready(s, [&] {
      Resp r;
      RespValue v;
      std::string err;
      return r.connect_to(s.info.addr, err) && r.call({"PING"}, v, err) && v.str == "PONG";
    });
  } else if (beanstalk) {
    ok = wait_ready(s, [&] {
      Conn c;
      std::string err;
      return c.connect_to(s.info.addr, err);
    });
  } else {
    ok = wait_ready(s, [&] {
      return tail_of(s.dir + "/server.log", 4000).find("RouDi is ready for clients") !=
             std::string::npos;
    });
  }
  s.info.running = ok;
}

void stop(Server& s) noexcept {
  if (s.pid > 0) {
    (void)kill(-s.pid, SIGTERM);
    (void)kill(s.pid, SIGTERM);
    const int64_t give_up = now_ns() + 5'000'000'000;
    int status = 0;
    bool gone = false;
    while (!(gone = exited(s.pid, status)) && now_ns() < give_up) {
      usleep(10'000);
    }
    if (!gone) {
      (void)kill(-s.pid, SIGKILL);
      (void)kill(s.pid, SIGKILL);
      (void)waitpid(s.pid, &status, 0);
    }
    s.pid = -1;
  }
  if (!s.dir.empty()) {
    const std::string cmd = "rm -rf '" + s.dir + "'";
    (void)std::system(cmd.c_str());  // NOLINT(cert-env33-c,concurrency-mt-unsafe): our mkdtemp dir
    s.dir.clear();
  }
}

}  // namespace

const ServerInfo& ensure_server(const std::string& kind) {
  auto it = registry().find(kind);
  if (it == registry().end()) {
    it = registry().emplace(kind, Server{}).first;
    start(kind, it->second);
    if (!it->second.info.running) {
      stop(it->second);
    }
  }
  return it->second.info;
}

void stop_servers() noexcept {
  for (auto& [kind, s] : registry()) {
    stop(s);
  }
}

std::string describe_servers() {
  std::string out;
  for (const auto& [kind, s] : registry()) {
    out += kind + ": " + (s.info.running ? s.info.command : "not running: " + s.info.error) + "\n";
  }
  return out;
}

}  // namespace lqs::bench
