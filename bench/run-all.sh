#!/usr/bin/env bash
# The whole benchmark suite in one command (issue 8): installs the peers it lacks, builds the
# release preset, runs every benchmark side by side with its peers, appends a dated section
# to bench/RESULTS.md and draws the PNG plots of bench/plots/ with gnuplot.
#
#   bench/run-all.sh            the full suite (at most ~15 minutes on 2 cores)
#   bench/run-all.sh --quick    the same, short (at most ~2 minutes)
#   options: --no-results  (do not touch bench/RESULTS.md or bench/plots/: raw output only)
#
# Runs, in order (the exact command lines are written into the results):
#   lqs-bench            lqs against boost_mq, posix_mq, uds, redis_list, redis_stream,
#                        beanstalkd, iceoryx: latency (spinning, parked, open loop at fixed
#                        rates), lifecycle throughput 1->1, 2->2, 4->4, batches of 10, sizes
#                        64 B..1 MiB, expiry, memory (1 M x 1 KiB)
#   lqs-bench (x2 more)  the headline rows (64 B: spinning latency, lifecycle 1->1, batches of
#                        10, 4->4) twice more, for medians of three (full mode only)
#   lqs-bench            lifecycle, 64 B: lqs next to the durable peers (redis appendfsync
#                        always, beanstalkd -f0) and their in-memory selves
#   lqs-fifo-bench       FIFO with 1, 100 and 10 000 groups next to a standard queue
#   lqs-opcost           each operation's CPU cost alone (one thread, no contention), and
#                        the 2-core throughput ceilings those costs allow
#   lqs-durability-bench LqsDurability memory / async / sync
#   bench/http/run.sh    the SQS HTTP API: lqsd against the SQS emulators (npm, moto)
# Raw outputs go to build/release/bench-results/<UTC stamp>-<mode>/.
#
# Installs, only if missing (apt): redis-server, beanstalkd, gnuplot-nox, iceoryx and
# libiceoryx-posh-dev, python3; bench/http/run.sh installs its own (wrk, npm emulators).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
mode=full
write_results=1
for a in "$@"; do
  case "$a" in
    --quick) mode=quick ;;
    --no-results) write_results=0 ;;
    *) echo "usage: $0 [--quick] [--no-results]" >&2; exit 2 ;;
  esac
done
t_start=$(date +%s)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$root/build/release/bench-results/$stamp-$mode"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# --- peers, installed only if missing ------------------------------------------------------
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v beanstalkd >/dev/null || need+=(beanstalkd)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
command -v iox-roudi >/dev/null || need+=(iceoryx)
dpkg -s libiceoryx-posh-dev >/dev/null 2>&1 || need+=(libiceoryx-posh-dev)
command -v python3 >/dev/null || need+=(python3)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "installing (Debian): ${need[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
    { as_root apt-get update -qq >/dev/null &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } ||
    echo "warning: could not install ${need[*]}: the peers that need them are skipped" >&2
fi

# --- build ----------------------------------------------------------------------------------
cd "$root"
echo "building the release preset..." >&2
cmake --preset release >/dev/null
cmake --build --preset release -j2 >/dev/null
mkdir -p "$out"
bin=build/release/bench

# --- run --------------------------------------------------------------------------------------
: >"$out/commands.txt"
: >"$out/steps.txt"
run() {  # run NAME LIMIT CMD...: stdout to $out/NAME, the command line to commands.txt;
         # the step is stopped (SIGTERM, SIGKILL 10 s later) after LIMIT seconds
  local name=$1 limit=$2
  shift 2
  echo "$*" >>"$out/commands.txt"
  echo "== $*" >&2
  local t0=$SECONDS rc=0 load0
  load0=$(cut -d' ' -f1 /proc/loadavg)
  timeout --kill-after=10 "$limit" "$@" >"$out/$name" 2>"$out/$name.err" || rc=$?
  echo "   ${name}: $((SECONDS - t0)) s, exit $rc" >&2
  echo "$rc" >"$out/$name.rc"
  # The machine is shared: keep the 1-minute load average before and after each step.
  printf '%s\t%s s\tload %s -> %s\n' "$name" "$((SECONDS - t0))" "$load0" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$out/steps.txt"
}

# lqs-fifo-bench stopped by its time limit leaves its shm root behind: remove the roots made
# during this suite (newer than commands.txt) whose process is gone.
cleanup_fifo_roots() {
  local d pid
  for d in /dev/shm/lqs-fifo-bench-*; do
    [[ -d $d && $d -nt $out/commands.txt ]] || continue
    pid=${d##*-}
    kill -0 "$pid" 2>/dev/null || rm -rf "$d"
  done
}

if [[ $mode == quick ]]; then
  run ipc.jsonl 150 "$bin/lqs-bench" --quick --json --duration 0.2 --messages 50000 \
    --workload latency_spin,latency_parked,open_loop,lifecycle,lifecycle_2x2,lifecycle_4x4,lifecycle_batch10,expiry,memory \
    --rates 10000,100000
  run durable.jsonl 60 "$bin/lqs-bench" --quick --json --duration 0.5 --workload lifecycle \
    --sizes 64 --systems lqs,redis_list,redis_list_aof,beanstalkd,beanstalkd_fsync
  run fifo.txt 20 "$bin/lqs-fifo-bench" --quick --groups 1,100,10000 --consumers 2
  cleanup_fifo_roots
  run opcost.txt 30 "$bin/lqs-opcost" --phases 30
  run durability.txt 60 "$bin/lqs-durability-bench" --seconds 0.5 --producers 1,64
  run http.txt 150 env HTTP_SECONDS=2 bench/http/run.sh --quick
else
  run ipc.jsonl 600 "$bin/lqs-bench" --json --duration 2.5
  # The headline rows twice more, for medians of three.
  for rep in 2 3; do
    run "repeat$rep.jsonl" 200 "$bin/lqs-bench" --json --duration 2.5 --sizes 64 \
      --workload latency_spin,lifecycle,lifecycle_batch10,lifecycle_4x4
  done
  run durable.jsonl 120 "$bin/lqs-bench" --json --duration 3 --workload lifecycle \
    --sizes 64,1024 --systems lqs,redis_list,redis_list_aof,beanstalkd,beanstalkd_fsync
  # 50 000 messages, as --quick, to bound the suite's time (the deduplication-table stall
  # that once hung longer runs was fixed in d4cd6aa; lqs-opcost measures the full table).
  run fifo.txt 90 "$bin/lqs-fifo-bench" --messages 50000 --groups 1,100,10000 --consumers 1,2
  cleanup_fifo_roots
  run opcost.txt 60 "$bin/lqs-opcost"
  run durability.txt 180 "$bin/lqs-durability-bench" --seconds 3
  run http.txt 420 bench/http/run.sh
fi
elapsed=$(($(date +%s) - t_start))
echo "suite ran in ${elapsed} s; raw output in $out" >&2

# --- results and plots --------------------------------------------------------------------------
args=(--dir "$out" --mode "$mode" --elapsed "$elapsed" --load "$load_at_start")
if [[ $write_results -eq 1 ]]; then
  args+=(--results bench/RESULTS.md --plots bench/plots)
fi
python3 bench/report.py "${args[@]}"
