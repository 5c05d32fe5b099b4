#!/usr/bin/env python3
# Copyright lqs authors. Turns the raw output of bench/run-all.sh into a dated Markdown section
# (appended to bench/RESULTS.md) and PNG plots drawn by gnuplot (bench/plots/).
#
#   bench/report.py --dir RAW_DIR --mode quick|full --elapsed S --load "1.0 0.9 0.8"
#                   [--results bench/RESULTS.md] [--plots bench/plots]
#
# Python's standard library only; gnuplot (Debian: gnuplot-nox) draws the plots. Without
# --results/--plots it writes section.md and the plots into RAW_DIR only.
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys

SYSTEMS = ["lqs", "boost_mq", "posix_mq", "uds", "redis_list", "redis_stream", "beanstalkd",
           "iceoryx", "redis_list_aof", "beanstalkd_fsync"]
SIZES = [64, 1024, 65536, 1048576]


def size_name(b):
    if b >= 1048576 and b % 1048576 == 0:
        return f"{b // 1048576} MiB"
    if b >= 1024 and b % 1024 == 0:
        return f"{b // 1024} KiB"
    return f"{b} B"


def scaled(v, steps):
    """The first (threshold, divisor, format) of `steps` that v reaches; "-" for None."""
    if v is None:
        return "-"
    for threshold, divisor, fmt in steps:
        if v >= threshold:
            return fmt.format(v / divisor)
    return f"{v}"


def us(ns):  # nanoseconds, shown in µs (ms from 10 ms)
    return scaled(ns, [(1e7, 1e6, "{:.1f} ms"), (1e5, 1e3, "{:.0f}"), (1e4, 1e3, "{:.1f}"),
                       (0, 1e3, "{:.2f}")])


def rate(r):  # messages per second
    return scaled(r, [(1e6, 1e6, "{:.2f} M"), (1e3, 1e3, "{:.1f} k"), (0, 1, "{:.0f}")])


def load_jsonl(path):
    env, rows, summary = {}, [], {}
    if not os.path.exists(path):
        return env, rows, summary
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                o = json.loads(line)
            except json.JSONDecodeError:
                continue
            if o.get("type") == "env":
                env = o
            elif o.get("type") == "result":
                rows.append(o)
            elif o.get("type") == "summary":
                summary = o
    return env, rows, summary


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def pkg_version(p):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True,
                              text=True, check=False).stdout.strip() or "not installed"
    except OSError:
        return "unknown"


def ok_mark(r):
    if r.get("skipped"):
        return "skip"
    if r.get("error"):
        return "ERROR"
    if not r.get("ok"):
        return "MISMATCH"
    return ""


class Results:
    def __init__(self, rows):
        self.rows = rows

    def get(self, workload, system, size=None):
        for r in self.rows:
            if r["workload"] == workload and r["system"] == system and (
                    size is None or r["msg_size"] == size):
                return r
        return None

    def systems(self):
        seen = [r["system"] for r in self.rows]
        return [s for s in SYSTEMS if s in seen]

    def usable(self, r):
        return r is not None and not r.get("skipped") and not r.get("error")


def latency_table(res, out):
    systems = res.systems()
    cols = [("latency_spin", s) for s in SIZES] + [("latency_parked", 64)]
    cols = [c for c in cols if any(res.get(c[0], s, c[1]) for s in systems)]
    if not cols:
        return
    out.append("One-way latency, p50 / p99 in µs (p99.9 and max are in the raw JSON); "
               "the last column is lqs's p50 / the system's p50 at 64 B spinning (below 1: lqs "
               "is faster).\n")
    head = "| system | " + " | ".join(
        f"{'spin' if w == 'latency_spin' else 'parked'} {size_name(s)}" for w, s in cols)
    out.append(head + " | lqs/peer p50 (spin 64 B) |")
    out.append("|---" * (len(cols) + 2) + "|")
    lqs64 = res.get("latency_spin", "lqs", 64)
    for sysname in systems:
        cells = []
        for w, s in cols:
            r = res.get(w, sysname, s)
            if not res.usable(r) or r.get("p50_ns") is None:
                cells.append(ok_mark(r) if r else "-")
            else:
                cells.append(f"{us(r['p50_ns'])} / {us(r['p99_ns'])}" +
                             (f" {ok_mark(r)}" if ok_mark(r) else ""))
        r64 = res.get("latency_spin", sysname, 64)
        ratio = "-"
        if sysname != "lqs" and res.usable(r64) and res.usable(lqs64) and r64.get("p50_ns"):
            ratio = f"{lqs64['p50_ns'] / r64['p50_ns']:.2f}x"
        out.append(f"| {sysname} | " + " | ".join(cells) + f" | {ratio} |")
    out.append("")


def open_loop_table(res, out):
    loads = sorted({(r["offered_rate"], r["workload"]) for r in res.rows
                    if r["workload"].startswith("open_loop") and r.get("offered_rate")})
    if not loads:
        return
    out.append("Open loop, 64 B, 1 -> 1, blocking receive: sends scheduled at the offered rate, "
               "latency from the scheduled time (no coordinated omission). p50 / p99 in µs; "
               "`!` = the system did not keep up (achieved rate in brackets, latency = "
               "backlog).\n")
    out.append("| system | " + " | ".join(f"{rate(o)}/s" for o, _ in loads) + " |")
    out.append("|---" * (len(loads) + 1) + "|")
    for sysname in res.systems():
        cells = []
        for o, w in loads:
            r = res.get(w, sysname)
            if res.usable(r) and r.get("p50_ns") is None and r.get("msgs_per_sec"):
                cells.append(f"! ({rate(r['msgs_per_sec'])}/s: every message it got through "
                             "was in the warm-up)")
                continue
            if not res.usable(r) or r.get("p50_ns") is None:
                cells.append(ok_mark(r) if r else "-")
                continue
            c = f"{us(r['p50_ns'])} / {us(r['p99_ns'])}"
            if r.get("msgs_per_sec") and r["msgs_per_sec"] < 0.95 * o:
                c += f" ! ({rate(r['msgs_per_sec'])}/s)"
            cells.append(c + (f" {ok_mark(r)}" if ok_mark(r) else ""))
        if all(c in ("-", "skip") for c in cells):
            continue
        out.append(f"| {sysname} | " + " | ".join(cells) + " |")
    out.append("")


def throughput_table(res, out, workloads):
    keys = []
    for w in workloads:
        for s in SIZES:
            if any(res.get(w, sy, s) for sy in res.systems()):
                keys.append((w, s))
    if not keys:
        return
    systems = [s for s in res.systems()
               if any(res.usable(res.get(w, s, z)) for w, z in keys)]
    out.append("Messages per second (unique messages received / time to the last one); in "
               "brackets lqs's rate / the system's (above 1: lqs is faster).\n")
    out.append("| workload | size | " + " | ".join(systems) + " |")
    out.append("|---" * (len(systems) + 2) + "|")
    for w, s in keys:
        lq = res.get(w, "lqs", s)
        cells = []
        for sy in systems:
            r = res.get(w, sy, s)
            if not res.usable(r) or r.get("msgs_per_sec") is None:
                cells.append(ok_mark(r) if r else "-")
                continue
            c = rate(r["msgs_per_sec"])
            if sy != "lqs" and res.usable(lq) and lq.get("msgs_per_sec"):
                c += f" ({lq['msgs_per_sec'] / r['msgs_per_sec']:.2f}x)"
            cells.append(c + (f" {ok_mark(r)}" if ok_mark(r) else ""))
        pxc = res.get(w, "lqs", s) or next(
            (res.get(w, sy, s) for sy in systems if res.get(w, sy, s)), None)
        label = w if pxc is None else f"{w} ({pxc['producers']}x{pxc['consumers']})"
        out.append(f"| {label} | {size_name(s)} | " + " | ".join(cells) + " |")
    out.append("")


def problems(rows):
    lines = []
    for r in rows:
        if r.get("skipped"):
            continue
        if r.get("error") or not r.get("ok"):
            lines.append(f"- {r['workload']} {size_name(r['msg_size'])} {r['system']}: "
                         f"{r.get('error') or 'lost %d, duplicates %d, bad %d' % (r['lost'], r['duplicates'], r['bad'])}")
    return lines


def skips(rows):
    seen = {}
    for r in rows:
        if r.get("skipped") and r.get("note"):
            seen.setdefault((r["system"], r["note"]), []).append(
                f"{r['workload']} {size_name(r['msg_size'])}")
    return [f"- {s}: {n} ({len(w)} rows)" for (s, n), w in seen.items()]


# ---- plots ------------------------------------------------------------------------------------
def gnuplot(script, workdir):
    if shutil.which("gnuplot") is None:
        print("report.py: gnuplot not found: no plots", file=sys.stderr)
        return False
    p = subprocess.run(["gnuplot"], input=script, text=True, cwd=workdir, capture_output=True,
                       check=False)
    if p.returncode != 0:
        print("report.py: gnuplot failed:\n" + p.stderr, file=sys.stderr)
        return False
    return True


COMMON = """set terminal pngcairo size 1000,560 noenhanced font 'DejaVu Sans,11'
set grid ytics mytics lc rgb '#dddddd'
set key outside right top
"""


def plot_all(res, plots_dir, title_suffix):
    os.makedirs(plots_dir, exist_ok=True)
    made = []
    # 1. latency percentiles per system (spinning consumer, 64 B), clustered bars, log y.
    lat = [(s, res.get("latency_spin", s, 64)) for s in res.systems()]
    lat = [(s, r) for s, r in lat if res.usable(r) and r.get("p50_ns")]
    park = {s: res.get("latency_parked", s, 64) for s in res.systems()}
    if lat:
        with open(os.path.join(plots_dir, "latency.dat"), "w") as f:
            f.write("system p50 p99 p999 parked_p50 parked_p99\n")
            for s, r in lat:
                pk = park.get(s)
                pk50 = pk["p50_ns"] / 1e3 if res.usable(pk) and pk.get("p50_ns") else "NaN"
                pk99 = pk["p99_ns"] / 1e3 if res.usable(pk) and pk.get("p99_ns") else "NaN"
                f.write(f"{s} {r['p50_ns'] / 1e3} {r['p99_ns'] / 1e3} {r['p999_ns'] / 1e3} "
                        f"{pk50} {pk99}\n")
        script = COMMON + f"""set output 'latency.png'
set title 'One-way latency, 64 B, 1 -> 1 (consumer spinning; parked: long poll){title_suffix}'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set ylabel 'microseconds (log)'
set xtics rotate by -30
set yrange [0.1:*]
set xrange [-0.6:{len(lat) - 0.4}]
plot 'latency.dat' using 2:xtic(1) title 'spin p50', '' using 3 title 'spin p99', \\
     '' using 4 title 'spin p99.9', '' using 5 title 'parked p50', '' using 6 title 'parked p99'
"""
        if gnuplot(script, plots_dir):
            made.append("latency.png")
    # 2. throughput against producers (lifecycle 64 B: 1x1, 2x2, 4x4).
    def by_producers(s):
        return [(n, res.get(w, s, 64)["msgs_per_sec"])
                for w, n in (("lifecycle", 1), ("lifecycle_2x2", 2), ("lifecycle_4x4", 4))
                if res.usable(res.get(w, s, 64)) and res.get(w, s, 64).get("msgs_per_sec")]

    # 3. throughput against message size (lifecycle 1 -> 1).
    def by_size(s):
        return [(z, res.get("lifecycle", s, z)["msgs_per_sec"]) for z in SIZES
                if res.usable(res.get("lifecycle", s, z)) and
                res.get("lifecycle", s, z).get("msgs_per_sec")]

    # 4. open loop: p99 against offered rate.
    def by_rate(s):
        return sorted((r["offered_rate"], r["p99_ns"] / 1e3) for r in res.rows
                      if r["system"] == s and r["workload"].startswith("open_loop") and
                      res.usable(r) and r.get("p99_ns"))

    plots = [
        ("throughput_producers", by_producers, f"""
set title 'Lifecycle throughput, 64 B, N producers -> N consumers (2 CPUs){title_suffix}'
set logscale y
set xlabel 'producers = consumers (processes)'
set ylabel 'messages / s (log)'
set xtics (1, 2, 4)
set xrange [0.8:4.4]"""),
        ("throughput_size", by_size, f"""
set title 'Lifecycle throughput, 1 -> 1, by message size{title_suffix}'
set logscale xy
set xlabel 'message size (bytes, log)'
set ylabel 'messages / s (log)'
set xtics ('64 B' 64, '1 KiB' 1024, '64 KiB' 65536, '1 MiB' 1048576)
set xrange [40:1.6e6]"""),
        ("open_loop", by_rate, f"""
set title 'Open loop: p99 latency at a fixed offered rate, 64 B, 1 -> 1{title_suffix}'
set logscale xy
set xlabel 'offered messages / s (log)'
set ylabel 'p99 one-way latency, microseconds (log)'"""),
    ]
    for name, points, settings in plots:
        series = {s: points(s) for s in res.systems()}
        series = {s: p for s, p in series.items() if len(p) >= 2}
        if not series:
            continue
        write_series(plots_dir, name, series)
        script = COMMON + f"set output '{name}.png'" + settings + "\nplot " + plot_lines(
            series, name) + "\n"
        if gnuplot(script, plots_dir):
            made.append(f"{name}.png")
    for f in os.listdir(plots_dir):
        if f.endswith(".dat"):
            os.remove(os.path.join(plots_dir, f))
    return made


def write_series(d, name, series):
    for s, pts in series.items():
        with open(os.path.join(d, f"{name}_{s}.dat"), "w") as f:
            for x, y in pts:
                f.write(f"{x} {y}\n")


def plot_lines(series, name):
    return ", ".join(f"'{name}_{s}.dat' using 1:2 with linespoints lw 2 pt 7 title '{s}'"
                     for s in series)


# ---- the section -------------------------------------------------------------------------------
def code_block(text, max_lines=60):
    lines = [l for l in text.rstrip("\n").split("\n")]
    if len(lines) > max_lines:
        lines = lines[-max_lines:]
    return ["```", *lines, "```", ""]


def median(values):
    v = sorted(values)
    n = len(v)
    return None if n == 0 else (v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2)


def headline(res, repeats):
    """lqs against each peer on the headline workloads: the median over this run and its
    repeats (where a row was repeated), else the one sample."""
    out = []
    items = [("latency_spin", 64, "p50_ns", "spinning one-way p50, 64 B", False),
             ("latency_parked", 64, "p50_ns", "parked one-way p50, 64 B", False),
             ("lifecycle", 64, "msgs_per_sec", "lifecycle 1 -> 1, 64 B", True),
             ("lifecycle_batch10", 64, "msgs_per_sec", "lifecycle, batches of 10, 64 B", True),
             ("lifecycle_4x4", 64, "msgs_per_sec", "lifecycle 4 -> 4, 64 B", True),
             ("lifecycle", 1024, "msgs_per_sec", "lifecycle 1 -> 1, 1 KiB", True),
             ("lifecycle", 1048576, "msgs_per_sec", "lifecycle 1 -> 1, 1 MiB", True)]

    def value(w, sy, s, field):
        samples = [r.get(field) for x in [res] + repeats for r in [x.get(w, sy, s)]
                   if x.usable(r) and r.get(field)]
        return median(samples), len(samples)

    for w, s, field, label, higher in items:
        lq, n = value(w, "lqs", s, field)
        if lq is None:
            continue
        parts = []
        for sy in res.systems():
            v, _ = value(w, sy, s, field)
            if sy == "lqs" or v is None:
                continue
            if higher:
                parts.append(f"{sy} {lq / v:.2f}x")
            else:
                f = v / lq
                parts.append(f"{sy} {f:.2f}x" if f >= 1 else f"{sy} {f:.2f}x (faster)")
        val = rate(lq) + " msg/s" if higher else us(lq) + " µs"
        how = f"median of {n}" if n > 1 else "one sample"
        out.append(f"- {label} ({how}): lqs {val}; " +
                   ("lqs's rate / peer's: " if higher else "peer's p50 / lqs's: ") +
                   ", ".join(parts))
    return out


def repeats_table(res, repeats, out):
    """Every sample of the repeated rows, and their median."""
    if not repeats:
        return
    keys = [("latency_spin", "p50_ns", us, "spinning p50, µs"),
            ("lifecycle", "msgs_per_sec", rate, "lifecycle 1->1, msg/s"),
            ("lifecycle_batch10", "msgs_per_sec", rate, "batches of 10, msg/s"),
            ("lifecycle_4x4", "msgs_per_sec", rate, "lifecycle 4->4, msg/s")]
    out.append(f"The headline rows (64 B) were run {1 + len(repeats)} times in this suite; "
               "samples in run order, then the median:\n")
    out.append("| system | " + " | ".join(k[3] for k in keys) + " |")
    out.append("|---" * (len(keys) + 1) + "|")
    for sy in res.systems():
        cells = []
        for w, field, fmt, _ in keys:
            samples = [r.get(field) for x in [res] + repeats for r in [x.get(w, sy, 64)]
                       if x.usable(r) and r.get(field)]
            cells.append("-" if not samples else
                         ", ".join(fmt(v) for v in samples) + f" → **{fmt(median(samples))}**")
        if any(c != "-" for c in cells):
            out.append(f"| {sy} | " + " | ".join(cells) + " |")
    out.append("")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--mode", default="full")
    ap.add_argument("--elapsed", default="?")
    ap.add_argument("--load", default="?")
    ap.add_argument("--results")
    ap.add_argument("--plots")
    a = ap.parse_args()

    env, rows, summary = load_jsonl(os.path.join(a.dir, "ipc.jsonl"))
    _, drows, dsummary = load_jsonl(os.path.join(a.dir, "durable.jsonl"))
    res = Results(rows)
    dres = Results(drows)
    repeats = []
    for k in range(2, 10):
        path = os.path.join(a.dir, f"repeat{k}.jsonl")
        if os.path.exists(path):
            repeats.append(Results(load_jsonl(path)[1]))
    commit = env.get("commit") or "unknown"
    today = datetime.date.today().isoformat()
    suffix = f" ({'quick' if a.mode == 'quick' else 'full'} run, {commit[:7]})"
    plots_dir = a.plots or os.path.join(a.dir, "plots")
    made = plot_all(res, plots_dir, suffix)

    s = []
    title = "bench/run-all.sh" + (" --quick" if a.mode == "quick" else "")
    s.append(f"## {today} — `{title}`, commit {commit[:7]}: lqs and its peers side by side")
    s.append("")
    s.append(f"- Machine: {env.get('cpu', '?')}, {env.get('nproc', '?')} vCPUs (KVM guest); "
             f"kernel {env.get('kernel', '?')}; compiler g++ {env.get('compiler', '?')} "
             f"({env.get('build_type', '?')}: {env.get('cxx_flags', '?')}); commit {commit}"
             f"{' (dirty tree)' if env.get('dirty') else ''}.")
    try:
        load1 = float(str(a.load).split()[0])
    except (ValueError, IndexError):
        load1 = None
    if load1 is not None and load1 < 1.0:
        s.append(f"- The machine was quiet when the suite started (load average {a.load}); the "
                 f"per-step load below shows whether it stayed so. A single run is one sample: "
                 f"read ratios measured side by side in this run.")
    else:
        s.append(f"- **The machine may have been shared**: load average {a.load} when the suite "
                 f"started (above 1 before lqs-bench's own processes run, something else was "
                 f"using the 2 vCPUs). Read only ratios measured side by side in this run; a "
                 f"single run is one sample (medians over repeats are in the sections above "
                 f"where they were taken).")
    s.append(f"- Peers (Debian packages): redis-server {pkg_version('redis-server')}, "
             f"beanstalkd {pkg_version('beanstalkd')}, iceoryx "
             f"{pkg_version('libiceoryx-posh-dev')}, Boost {pkg_version('libboost-dev')}, "
             f"gnuplot {pkg_version('gnuplot-nox')}. Servers started by lqs-bench on private "
             f"Unix sockets / loopback ports, persistence off unless named:")
    for line in (summary.get("servers", "") + dsummary.get("servers", "")).strip().split("\n"):
        if line.strip():
            s.append(f"  - `{line.strip()}`")
    s.append(f"- Whole suite: {a.elapsed} s. Commands, in order:")
    s.append("")
    s.extend(code_block(read(os.path.join(a.dir, "commands.txt"))))
    steps = read(os.path.join(a.dir, "steps.txt")).strip()
    if steps:
        s.append("Time and 1-minute load average (before -> after) of each step; a load above "
                 "~2 means other work competed with the benchmark for the 2 vCPUs:")
        s.append("")
        s.extend(code_block(steps))
    s.append("Server peers (Redis, beanstalkd) share the 2 vCPUs with the pinned producer and "
             "consumer, so each of their messages also pays for a context switch to the server; "
             "their unbounded queues are held to the same depth as the others by flow control. "
             "boost_mq, posix_mq and uds have no delete: their lifecycle is send + receive. "
             "iceoryx is publish/subscribe without queue semantics and runs the latency rows "
             "only.")
    s.append("")
    if made:
        s.append("Plots (this run): " + ", ".join(f"[{m}](plots/{m})" for m in made) + ".")
        s.append("")
    s.append("### Headline ratios (this run)")
    s.append("")
    s.extend(headline(res, repeats))
    s.append("")
    repeats_table(res, repeats, s)
    s.append("### Latency")
    s.append("")
    latency_table(res, s)
    open_loop_table(res, s)
    s.append("### Throughput")
    s.append("")
    throughput_table(res, s, ["lifecycle", "lifecycle_batch10", "lifecycle_2x2",
                              "lifecycle_batch10_2x2", "lifecycle_4x4"])
    mem = res.get("memory", "lqs", 1024)
    exp = [r for r in rows if r["workload"] == "expiry" and r["system"] == "lqs"]
    s.append("### Memory and expiry (lqs only)")
    s.append("")
    if mem:
        if mem.get("shm_bytes"):
            gib = mem["shm_bytes"] / 2**30
            s.append(f"- memory: {mem['note']}. Measured: **{gib:.3f} GiB** of /dev/shm blocks "
                     f"against the PERF.md target of ≤ 1.25 GiB: "
                     f"**{'met' if gib <= 1.25 else 'missed'}**.")
        else:
            s.append(f"- memory: {mem.get('error') or mem.get('note')}")
    for r in exp:
        if r.get("ns_per_op"):
            s.append(f"- expiry: {r['ns_per_op']:.0f} ns per send+receive+delete with "
                     f"{r['in_flight']} in flight" +
                     (f"; ratio big/small {r['ratio']:.2f} (target ≤ 1.2)" if r.get("ratio")
                      else ""))
    s.append("")
    if drows:
        s.append("### Durable peers next to lqs (lifecycle, 1 -> 1)")
        s.append("")
        s.append("lqs here is the shared-memory queue without lqsd (LqsDurability async "
                 "behaves as memory without the daemon); lqs's own durable modes are in "
                 "lqs-durability-bench below.")
        s.append("")
        throughput_table(dres, s, ["lifecycle"])
    for name, title2 in (("fifo.txt", "FIFO (lqs-fifo-bench)"),
                         ("opcost.txt", "Each operation's CPU cost alone (lqs-opcost)"),
                         ("durability.txt", "Durability modes (lqs-durability-bench)"),
                         ("http.txt", "SQS HTTP API (bench/http/run.sh)")):
        text = read(os.path.join(a.dir, name))
        rc = read(os.path.join(a.dir, name + ".rc"), "?").strip()
        status = {"0": "", "124": " — stopped by its time limit (exit 124): it hung",
                  "137": " — killed after its time limit (exit 137): it hung"}
        s.append(f"### {title2}" + status.get(rc, f" — exit status {rc}"))
        s.append("")
        if text.strip():
            s.extend(code_block(text))
        else:
            s.append("(no output; stderr: " + read(os.path.join(a.dir, name + ".err"))[-400:]
                     .replace("\n", " ") + ")")
            s.append("")
    probs = problems(rows) + problems(drows) + [p for x in repeats for p in problems(x.rows)]
    s.append("### Failures and skips")
    s.append("")
    if probs:
        s.extend(probs)
    else:
        s.append("- every lqs-bench run verified: nothing lost, duplicated or malformed.")
    s.extend(skips(rows + drows))
    s.append("")
    section = "\n".join(s) + "\n"
    with open(os.path.join(a.dir, "section.md"), "w") as f:
        f.write(section)
    if a.results:
        with open(a.results, "a") as f:
            f.write("\n" + section)
        print(f"report.py: appended the section to {a.results}; plots: {', '.join(made)}",
              file=sys.stderr)
    else:
        print(section)


if __name__ == "__main__":
    main()
