#!/usr/bin/env bash
# Disk bytes written per log byte, and the spare keeper's CPU, in one lqs-durability-bench run
# (tenth session, bench/RESULTS.md "reused log files"):
#
#   bench/durability/disk-amplification.sh [BENCH_BINARY] [SECONDS]
#
# Runs `lqs-durability-bench --seconds S --no-sync --no-sync-lifecycle --fill 0` and prints its
# async lines, the bytes written to the disk under /var/tmp (from /proc/diskstats, the whole
# run, `sync` at the end: the bench's two floor measurements are included) and the CPU of its
# lqs-wal-spare threads (/proc/<pid>/task/*/stat, sampled every 0.2 s). Other writers on the
# disk count too: run it on a quiet machine, alternating the binaries being compared.
set -euo pipefail
bench=${1:-build/release/bench/lqs-durability-bench}
secs=${2:-8}
dev=$(basename "$(df --output=source /var/tmp | tail -1)")
sectors() { awk -v d="$dev" '$3 == d { print $10 }' /proc/diskstats; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
w0=$(sectors)
"$bench" --seconds "$secs" --no-sync --no-sync-lifecycle --fill 0 >"$out" 2>&1 &
pid=$!
declare -A spare
while kill -0 "$pid" 2>/dev/null; do
  for t in /proc/"$pid"/task/*; do
    if [[ "$(cat "$t/comm" 2>/dev/null)" == lqs-wal-spare ]]; then
      v=$(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null || true)
      [[ -n "$v" ]] && spare[$(basename "$t")]=$v
    fi
  done
  sleep 0.2
done
wait "$pid"
sync
sleep 1
w1=$(sectors)
ticks=0
for k in "${!spare[@]}"; do ticks=$((ticks + spare[$k])); done
grep -E "lifecycle async|async log" "$out"
echo "disk written: $(((w1 - w0) * 512 / 1000000)) MB (device $dev); spare threads CPU: $((ticks * 10)) ms"
