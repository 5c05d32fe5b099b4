#!/usr/bin/env bash
# The SQS HTTP API benchmark (issue 5): lqsd against the SQS emulators that install here, one
# system at a time on loopback, driven by wrk over keep-alive connections.
#
#   bench/http/run.sh [--quick]     10 s per workload (3 s with --quick)
#
# Workloads, the same operations on every system (bench/http/sqs.lua):
#   send      SendMessage, 64-byte body
#   recvdel   ReceiveMessage (1 message) then DeleteMessage of the handle it returned; it
#             drains the queue that `send` filled just before (receives that find the queue
#             empty are counted and reported)
#   batch10   SendMessageBatch of 10 64-byte bodies (messages/s = 10 x requests/s, less any
#             entries answered as failed), one queue per wrk thread
# Systems and protocols: lqsd (AWS JSON 1.0), local-aws-sqs (JSON), sqslite (Query: it speaks
# nothing else) and moto server (JSON; skipped if the machine's python3 has no moto). And the
# machine's HTTP floor: nginx returning a fixed answer without doing any work (send, batch10).
#
# Installs what is missing, and only that: wrk and nginx-light (Debian), the npm emulators
# (bench/http/node, from its package-lock.json) and lqsd (build/release). Environment: LQSD (an lqsd binary),
# LQSD_ARGS (extra lqsd options, for diagnostics), WRK_THREADS (2), WRK_CONNECTIONS (64),
# HTTP_SECONDS (seconds per workload and system, overriding 10 / --quick's 3).
# Exits 1 if lqsd answered anything but 200, or a socket error happened on an lqsd run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=10
if [[ "${1:-}" == "--quick" ]]; then
  duration=3
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--quick]" >&2
  exit 2
fi
duration=${HTTP_SECONDS:-$duration}  # bench/run-all.sh --quick shortens it further
threads=${WRK_THREADS:-2}
conns=${WRK_CONNECTIONS:-64}

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# --- what it needs, installed only if missing --------------------------------------------
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian)..." >&2
  as_root apt-get install -y wrk >/dev/null || { as_root apt-get update >/dev/null &&
                                                 as_root apt-get install -y wrk >/dev/null; }
fi
have_node=0
if command -v node >/dev/null && command -v npm >/dev/null; then
  have_node=1
  if [[ ! -d "$here/node/node_modules/local-aws-sqs" || ! -d "$here/node/node_modules/sqslite" ]]
  then
    echo "installing the npm emulators (npm ci in bench/http/node)..." >&2
    (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
else
  echo "note: node/npm missing: local-aws-sqs and sqslite are skipped" >&2
fi
have_nginx=0
if ! command -v nginx >/dev/null; then
  echo "installing nginx (Debian), for the machine's HTTP floor..." >&2
  # Debian starts a package's service when it installs it (nginx: its default site on every
  # address, port 80). Servers here listen on loopback only: a policy-rc.d that refuses
  # service starts (exit 101) covers the install, and the service is left stopped and
  # disabled; this script runs its own nginx on a loopback port.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null && as_root chmod 755 "$policy" &&
      made_policy=1
  fi
  as_root apt-get install -y nginx-light >/dev/null 2>&1 ||
    { as_root apt-get update >/dev/null && as_root apt-get install -y nginx-light >/dev/null 2>&1; } ||
    echo "note: nginx could not be installed: the HTTP floor row is skipped" >&2
  if [[ $made_policy -eq 1 ]]; then as_root rm -f "$policy"; fi
  as_root service nginx stop >/dev/null 2>&1 || true
  as_root update-rc.d nginx disable >/dev/null 2>&1 || true
fi
if command -v nginx >/dev/null; then have_nginx=1; fi
have_moto=0
if python3 -c 'import moto.server' 2>/dev/null; then have_moto=1; else
  echo "note: python3 has no moto: moto server is skipped" >&2
fi
lqsd=${LQSD:-$root/build/release/lqsd}
if [[ ! -x "$lqsd" ]]; then
  echo "building lqsd (release preset)..." >&2
  (cd "$root" && cmake --preset release >/dev/null &&
   cmake --build --preset release -j2 --target lqsd >/dev/null)
fi

# --- scratch space and the servers this script starts -------------------------------------
work=$(mktemp -d /tmp/lqs-httpbench.XXXXXX)
shm_root=/dev/shm/lqs-httpbench-$$
server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() { stop_server; rm -rf "$work" "$shm_root"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (up to 15 s) for a line matching $2 in file $1; prints it.
wait_line() {
  local i
  for ((i = 0; i < 150; ++i)); do
    if grep -m1 -E "$2" "$1" 2>/dev/null; then return 0; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "server did not start; its output:" >&2
  cat "$1" >&2
  return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

sigv4='Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00'

# json_call BASE ACTION BODY [extra curl args...]
json_call() {
  local base=$1 action=$2 body=$3
  shift 3
  curl -sS --max-time 30 -X POST "$base/" -H "X-Amz-Target: AmazonSQS.$action" \
    -H 'Content-Type: application/x-amz-json-1.0' "$@" -d "$body"
}

# --- one system ----------------------------------------------------------------------------
# Per system: name, protocol, base URL, queue URLs for send and batch10, auth, queue-depth probe.
results=$work/results.tsv
: >"$results"

# probe: a cheap request; after each wrk run, wait (<= 5 s) until the server answers it in
# under 50 ms, so that requests still queued in a slow server do not count against the next
# workload.
probe() {
  case $proto in
    json) curl -s -o /dev/null -w '%{time_total}' --max-time 2 -X POST "$base/" \
            -H 'X-Amz-Target: AmazonSQS.ListQueues' -H 'Content-Type: application/x-amz-json-1.0' \
            ${auth:+-H "$sigv4"} -d '{}' || echo 10 ;;
    query) curl -s -o /dev/null -w '%{time_total}' --max-time 2 "$base/" \
             -d 'Action=ListQueues' || echo 10 ;;
  esac
}
drain() {
  local i t
  for ((i = 0; i < 10; ++i)); do
    t=$(probe)
    if awk -v t="$t" 'BEGIN { exit !(t < 0.05) }'; then return; fi
    sleep 0.5
  done
}

# run_wrk WORKLOAD QUEUE_URL
run_wrk() {
  local workload=$1 qurl=$2 out
  out=$work/wrk-$name-$workload.txt
  wrk -t"$threads" -c"$conns" -d"${duration}s" --timeout 5s -s "$here/sqs.lua" "$base/" \
    -- "$proto" "$workload" "$qurl" ${auth:+sigv4} >"$out" 2>&1 || true
  local line
  line=$(grep -m1 '^RESULT ' "$out" || true)
  if [[ -z "$line" ]]; then
    echo "wrk gave no result for $name $workload:" >&2
    cat "$out" >&2
    line="RESULT requests=0 duration_us=1 p50_us=0 p99_us=0 non2xx=0 sock_errors=1 received=0 receives=0 deletes=0 empty=0 bad=0 failed=0 first_bad=\"wrk failed\""
  fi
  printf '%s\t%s\t%s\t%s\n' "$workload" "$name" "$proto" "${line#RESULT }" >>"$results"
  drain
}

# batch10 goes to one queue per wrk thread (batch-1, batch-2, ...), on every system: 10 s at
# ~450 k msgs/s is more than one lqs queue holds (4,194,304 messages). Entries answered as failed
# are counted (sqs.lua) and left out of msgs/s; lqs failing any is a failed run.
batch_names() { local i; for ((i = 1; i <= threads; ++i)); do echo "batch-$i"; done; }

measure() {  # after the server is up and $send_q/$batch_q exist
  echo "  $name ($proto): send..." >&2
  run_wrk send "$send_q"
  echo "  $name ($proto): recvdel..." >&2
  run_wrk recvdel "$send_q"
  echo "  $name ($proto): batch10..." >&2
  run_wrk batch10 "$batch_q"
  stop_server
}

echo "HTTP benchmark: ${duration} s per workload, wrk -t$threads -c$conns, keep-alive" >&2

# lqsd. Big queues: `send` fills one for recvdel, batch10 sends millions of messages.
name=lqs proto=json auth=""
mkdir -p "$work/lqs-data"
# shellcheck disable=SC2086  # LQSD_ARGS is a list of options
"$lqsd" --shm-root "$shm_root" --data-dir "$work/lqs-data" --listen 127.0.0.1:0 ${LQSD_ARGS:-} \
  >"$work/lqsd.out" 2>"$work/lqsd.err" &
server_pid=$!
ready=$(wait_line "$work/lqsd.out" '^lqsd ready')
base=$(sed -E 's#.*(http://[^/]*)/metrics.*#\1#' <<<"$ready")
big='"Attributes":{"LqsCapacityMessages":"4194304","LqsCapacityBytes":"1073741824"}'
send_q=$(json_call "$base" CreateQueue "{\"QueueName\":\"send\",$big}" |
         sed -E 's/.*"QueueUrl":"([^"]*)".*/\1/')
batch_q=$(for b in $(batch_names); do
            json_call "$base" CreateQueue "{\"QueueName\":\"$b\",$big}" |
              sed -E 's/.*"QueueUrl":"([^"]*)".*/\1/'
          done | paste -sd,)
measure

if [[ $have_node -eq 1 ]]; then
  name=local-aws-sqs proto=json auth=""
  node "$here/node/serve-local-aws-sqs.js" 0 >"$work/las.out" 2>&1 &
  server_pid=$!
  port=$(wait_line "$work/las.out" '^ready ' | cut -d' ' -f2)
  base=http://127.0.0.1:$port
  send_q=$(json_call "$base" CreateQueue '{"QueueName":"send"}' |
           sed -E 's/.*"QueueUrl":"([^"]*)".*/\1/')
  batch_q=$(for b in $(batch_names); do
              json_call "$base" CreateQueue "{\"QueueName\":\"$b\"}" |
                sed -E 's/.*"QueueUrl":"([^"]*)".*/\1/'
            done | paste -sd,)
  measure

  name=sqslite proto=query auth=""
  node "$here/node/serve-sqslite.js" 0 >"$work/sqslite.out" 2>&1 &
  server_pid=$!
  port=$(wait_line "$work/sqslite.out" '^ready ' | cut -d' ' -f2)
  base=http://127.0.0.1:$port
  curl -sS -o /dev/null "$base/" -d 'Action=CreateQueue&QueueName=send'
  batch_q=$(for b in $(batch_names); do
              curl -sS -o /dev/null "$base/" -d "Action=CreateQueue&QueueName=$b"
              echo "http://localhost:$port/queues/$b"  # the only queue URLs sqslite accepts
            done | paste -sd,)
  send_q=http://localhost:$port/queues/send
  measure
fi

if [[ $have_moto -eq 1 ]]; then
  name=moto proto=json auth=1
  port=$(free_port)
  python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.out" 2>&1 &
  server_pid=$!
  wait_line "$work/moto.out" 'Running on' >/dev/null
  base=http://127.0.0.1:$port
  # moto routes by the service named in the Authorization header (it checks no signature).
  send_q=$(json_call "$base" CreateQueue '{"QueueName":"send"}' -H "$sigv4" |
           sed -E 's/.*"QueueUrl": *"([^"]*)".*/\1/')
  batch_q=$(for b in $(batch_names); do
              json_call "$base" CreateQueue "{\"QueueName\":\"$b\"}" -H "$sigv4" |
                sed -E 's/.*"QueueUrl": *"([^"]*)".*/\1/'
            done | paste -sd,)
  measure
fi

# The machine's HTTP floor: nginx (Debian) answering every request with a fixed SendMessage
# answer, doing no work at all (no body parsed, nothing stored or digested). No server that does
# the work can beat it under the same wrk load on the same cores; it is not an emulator and is
# left out of the emulator ratios. send and batch10 only (a receive needs real answers).
if [[ $have_nginx -eq 1 ]]; then
  name=http-floor proto=json auth=""
  port=$(free_port)
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$port;
    location / {
      default_type application/x-amz-json-1.0;
      return 200 '{"MD5OfMessageBody":"0123456789abcdef0123456789abcdef","MessageId":"01234567-89ab-cdef-0123-456789abcdef"}';
    }
  }
}
CONF
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" >"$work/nginx.out" 2>&1 &
  server_pid=$!
  base=http://127.0.0.1:$port
  for ((i = 0; i < 50; ++i)); do
    curl -s -o /dev/null "$base/" && break
    sleep 0.1
  done
  echo "  $name (static answer): send..." >&2
  run_wrk send "$base/000000000000/send"
  echo "  $name (static answer): batch10..." >&2
  run_wrk batch10 "$base/000000000000/batch"
  stop_server
fi

# --- the table -----------------------------------------------------------------------------
python3 - "$results" "$duration" <<'EOF'
import re, sys
path, duration = sys.argv[1], sys.argv[2]
rows = []
for line in open(path):
    workload, system, proto, kv = line.rstrip("\n").split("\t", 3)
    d = {k: v for k, v in re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', kv)}
    for k in list(d):
        if not d[k].startswith('"'):
            d[k] = int(d[k])
    secs = d["duration_us"] / 1e6
    ok = d["requests"] - d["non2xx"]
    req_s = d["requests"] / secs
    if workload == "send":
        msg_s = ok / secs
    elif workload == "batch10":
        msg_s = (10 * ok - d.get("failed", 0)) / secs  # entries a 200 answer listed as failed
    else:
        msg_s = d["received"] / secs
    rows.append(dict(workload=workload, system=system, proto=proto, req_s=req_s, msg_s=msg_s,
                     p50=d["p50_us"], p99=d["p99_us"], non2xx=d["non2xx"],
                     sockerr=d["sock_errors"], empty=d["empty"], failed=d.get("failed", 0),
                     first_bad=d["first_bad"].strip('"')))

def rate(x):
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.1f}k" if x >= 1e3 else f"{x:.0f}"

def lat(us):
    return f"{us / 1000:.2f}ms" if us < 100000 else f"{us / 1000:.0f}ms"

print(f"\n{'workload':9} {'system':14} {'proto':5} {'req/s':>8} {'msgs/s':>8} {'p50':>9} "
      f"{'p99':>9} {'non-2xx':>7} {'sockerr':>7} {'empty':>6}  lqs/peer (msgs/s)")
failed = []
verdicts = {}
for workload in ("send", "recvdel", "batch10"):
    ws = [r for r in rows if r["workload"] == workload]
    lqs = next((r for r in ws if r["system"] == "lqs"), None)
    for r in ws:
        ratio = ""
        if lqs and r is not lqs:
            ratio = f"{lqs['msg_s'] / r['msg_s']:.1f}x" if r["msg_s"] > 0 else "inf"
        empty = str(r["empty"]) if workload == "recvdel" else "-"
        print(f"{workload:9} {r['system']:14} {r['proto']:5} {rate(r['req_s']):>8} "
              f"{rate(r['msg_s']):>8} {lat(r['p50']):>9} {lat(r['p99']):>9} {r['non2xx']:>7} "
              f"{r['sockerr']:>7} {empty:>6}  {ratio}")
        if r["non2xx"]:
            print(f"{'':9} first non-200 from {r['system']}: {r['first_bad'][:150]}")
        if r["failed"]:
            print(f"{'':9} {r['system']}: {r['failed']} batch entries answered as failed "
                  f"(not counted in msgs/s)")
        if r is lqs and (r["non2xx"] or r["sockerr"] or r["failed"]):
            failed.append(f"{workload}: lqs had {r['non2xx']} non-200 answers, "
                          f"{r['failed']} failed batch entries and {r['sockerr']} socket errors")
    peers = [r for r in ws if r is not lqs and r["system"] != "http-floor"]
    if lqs and peers:
        best = max(peers, key=lambda r: r["msg_s"])
        verdicts[workload] = (lqs["msg_s"], best)

print("\nTargets (PERF.md: SQS HTTP API, JSON, keep-alive, 2 cores):")
def verdict(ok):
    return "met" if ok else "MISSED"
lqs_send = next((r for r in rows if r["system"] == "lqs" and r["workload"] == "send"), None)
lqs_batch = next((r for r in rows if r["system"] == "lqs" and r["workload"] == "batch10"), None)
if lqs_send:
    print(f"  >= 50k SendMessage/s: {rate(lqs_send['msg_s'])}/s: {verdict(lqs_send['msg_s'] >= 50e3)}")
if lqs_batch:
    print(f"  >= 300k msgs/s in batches of 10: {rate(lqs_batch['msg_s'])}/s: "
          f"{verdict(lqs_batch['msg_s'] >= 300e3)}")
for workload, (m, best) in verdicts.items():
    r = m / best["msg_s"] if best["msg_s"] > 0 else float("inf")
    print(f"  >= 10x the fastest emulator, {workload}: {r:.1f}x {best['system']}: {verdict(r >= 10)}")
floor = {r["workload"]: r for r in rows if r["system"] == "http-floor"}
if floor:
    print("\nThe machine's HTTP floor (nginx answering a fixed body, no work), same wrk load:")
    for workload in ("send", "batch10"):
        f = floor.get(workload)
        lqs = next((r for r in rows if r["system"] == "lqs" and r["workload"] == workload), None)
        if not f or not lqs:
            continue
        line = (f"  {workload}: floor {rate(f['req_s'])} req/s; lqs {rate(lqs['req_s'])} req/s = "
                f"{100 * lqs['req_s'] / f['req_s']:.0f} % of it")
        if workload in verdicts:
            m, best = verdicts[workload]
            need = 10 * best["req_s"]
            line += (f"; 10x {best['system']} needs {rate(need)} req/s, "
                     f"{'above' if need > f['req_s'] else 'below'} the floor")
        print(line)
if failed:
    print("\nFAILED: lqs answered with errors:\n  " + "\n  ".join(failed))
    sys.exit(1)
EOF
