// Copyright lqs authors. Process plumbing for the IPC benchmark: shared memory for results,
// forking pinned children in their own process groups, and reaping them with a deadline.
//
// The parent never starts a thread. It blocks SIGCHLD, SIGINT, SIGTERM and SIGHUP and takes
// them synchronously (sigtimedwait) while it reaps, so an interrupt kills the children's
// process groups and lets the parent clean up instead of dying half-way.
#ifndef LQS_BENCH_IPC_HARNESS_HPP_
#define LQS_BENCH_IPC_HARNESS_HPP_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lqs::bench {

/// CLOCK_MONOTONIC in nanoseconds (the clock lqs uses; valid across processes).
int64_t now_ns() noexcept;

/// A zero-filled MAP_SHARED anonymous mapping, inherited by children forked after it.
/// Returns nullptr on failure.
void* map_shared(size_t bytes) noexcept;
void unmap_shared(void* p, size_t bytes) noexcept;

/// Blocks the signals the parent handles synchronously. Call once, first thing in main.
void block_parent_signals() noexcept;
/// True once SIGINT, SIGTERM or SIGHUP has been taken.
bool interrupted() noexcept;
/// Takes any pending interrupt signal without waiting.
void poll_interrupts() noexcept;

/// Forks a child that: gets its own process group, dies with the parent (PR_SET_PDEATHSIG),
/// restores the default signal mask, pins itself to `cpu` (if >= 0), runs `body` and _exits
/// with its return value (1 if it threw). Returns the pid, or -1 (errno set) if fork failed.
pid_t spawn_child(int cpu, const std::function<int()>& body);

struct ReapOutcome {
  bool timed_out = false;             ///< the deadline passed; the groups were SIGKILLed
  bool interrupted = false;           ///< SIGINT/SIGTERM/SIGHUP arrived; the groups were killed
  std::vector<std::string> problems;  ///< one line per child that did not exit 0
};

/// Waits for every pid in `pids` until `deadline_ns` (now_ns() scale). On timeout or
/// interrupt sends SIGKILL to each child's process group and reaps them. Never hangs: after
/// SIGKILL it waits at most a few more seconds.
ReapOutcome reap_children(const std::vector<pid_t>& pids, int64_t deadline_ns);

/// Kills (SIGKILL) every child group still registered. Used on error paths.
void kill_all_children() noexcept;

/// Pins the calling thread to one CPU. Returns false (and sets `err`) on failure.
bool pin_to_cpu(int cpu, std::string& err);

}  // namespace lqs::bench

#endif  // LQS_BENCH_IPC_HARNESS_HPP_
