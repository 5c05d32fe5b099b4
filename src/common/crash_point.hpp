// Copyright lqs authors. Named crash points for crash tests.
//
// LQS_CRASH_POINT("ring.after_claim") compiles to nothing unless LQS_CRASH_POINTS is defined.
// With it, a process whose environment holds LQS_CRASH_AT=<name> (or <name>:<n>, the n-th
// hit) raises SIGKILL at that point, so tests can kill a process at an exact step. With
// <name>[:<n>]:stop it raises SIGSTOP there instead, once: the test runs other processes'
// steps at that exact point, then resumes it with SIGCONT.
#ifndef LQS_COMMON_CRASH_POINT_HPP_
#define LQS_COMMON_CRASH_POINT_HPP_

namespace lqs::common {
void crash_point_hit(const char* name) noexcept;
}  // namespace lqs::common

#if defined(LQS_CRASH_POINTS)
#define LQS_CRASH_POINT(name) ::lqs::common::crash_point_hit(name)
#else
#define LQS_CRASH_POINT(name) ((void)0)
#endif

#endif  // LQS_COMMON_CRASH_POINT_HPP_
