"""Starts and stops one lqsd for a compat test run (shared by the Python and AWS CLI suites).

Each run gets a fresh data directory (under $TMPDIR) and a fresh shm root (under /dev/shm),
listens on 127.0.0.1 with a port the kernel picks, and is stopped with SIGTERM; both
directories are removed afterwards. The lqsd binary comes from --lqsd PATH or $LQSD (ctest
passes $<TARGET_FILE:lqsd>).
"""

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

_READY = re.compile(r"lqsd ready: .*http://([^/\s]+)/metrics")


def pop_option(argv, name):
    """Removes `name VALUE` (or `name=VALUE`) from argv and returns VALUE, or None."""
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            value = argv[i + 1]
            del argv[i : i + 2]
            return value
        if arg.startswith(name + "="):
            del argv[i]
            return arg[len(name) + 1 :]
    return None


def fail(message):
    """Ends the run with exit status 1 and a message saying what is missing."""
    print(f"FAILED: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


class Lqsd:
    """One lqsd process in its own temporary directories."""

    def __init__(self, path, ready_timeout_s=20.0, extra_args=()):
        if not path:
            fail("no lqsd binary: pass --lqsd PATH or set LQSD (ctest does both for you)")
        if not os.access(path, os.X_OK):
            fail(f"lqsd binary {path!r} is missing or not executable: build the lqsd target")
        self.path = path
        self.ready_timeout_s = ready_timeout_s
        self.extra_args = list(extra_args)  # e.g. ["--config", FILE]
        self.proc = None
        self.data_dir = None
        self.shm_root = None
        self.log_path = None
        self.hostport = None

    @property
    def endpoint(self):
        return f"http://{self.hostport}"

    def start(self):
        self.data_dir = tempfile.mkdtemp(prefix="lqs-compat-data-")
        shm_base = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
        self.shm_root = tempfile.mkdtemp(prefix=f"lqs-compat-{os.getpid()}-", dir=shm_base)
        self.log_path = os.path.join(self.data_dir, "lqsd.stderr")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [self.path, "--shm-root", self.shm_root, "--data-dir", self.data_dir,
                 "--listen", "127.0.0.1:0"] + self.extra_args,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        deadline = time.monotonic() + self.ready_timeout_s
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
            elif self.proc.poll() is not None:
                break
        match = _READY.search(line.decode("utf-8", "replace"))
        if not match:
            log_tail = self.log_tail()
            self.stop()
            fail(f"lqsd did not print its ready line (got {line!r}); its stderr:\n{log_tail}")
        self.hostport = match.group(1)
        return self

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self, show_log=False):
        """SIGTERM, a bounded wait, SIGKILL if needed; then removes both directories.

        With show_log, prints the end of lqsd's stderr first. Returns lqsd's exit status
        (None if it had to be killed)."""
        status = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    status = self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            else:
                status = self.proc.returncode
            self.proc.stdout.close()
            self.proc = None
        if show_log and self.log_path:
            print(f"--- last lines of lqsd's stderr:\n{self.log_tail()}---", file=sys.stderr)
        for d in (self.shm_root, self.data_dir):
            if d:
                shutil.rmtree(d, ignore_errors=True)
        self.shm_root = self.data_dir = None
        return status
