"""Start and stop the servers under test (one uvicorn worker each) and watch their memory."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT_ROOT / "bench" / "results"
START_TIMEOUT = 60.0  # seconds for the app to answer its readiness check
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`python -m uvicorn <app> --workers 1` in the project root, as a context manager.

    One worker, so that figures compare across machines with different core counts; no
    uvicorn access log (the app writes its own access line per request, as in production).
    """

    def __init__(
        self,
        app: str,
        ready_path: str,
        env: dict[str, str],
        log_name: str,
        cwd: Path = PROJECT_ROOT,  # bench.compare: another checkout's app
    ) -> None:
        self.app = app
        self.cwd = cwd
        self.ready_path = ready_path
        self.env = env
        self.port = free_port()
        self.log_path = RESULTS / log_name
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> "Server":
        command = [
            sys.executable, "-m", "uvicorn", self.app,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", "1", "--no-access-log",
        ]  # fmt: skip
        # Every server's log goes there, whichever command starts it (it is not in a clone).
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.app} exited at start-up:\n{self.log_tail()}")
            try:
                response = httpx.get(self.url + self.ready_path, timeout=2)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as error:
                last = type(error).__name__
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.app} not ready after {START_TIMEOUT:.0f}s ({last}):\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _cpu_ticks(pid: int) -> int:
    """CPU time (user + system, all threads) a process has used, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, in seconds."""
    return _cpu_ticks(pid) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, timeout: float = 60.0) -> float:
    """Wait until the server process is idle (under 5% of a core for 0.5 s); returns the wait.

    When wrk stops, the server may still be working through requests of the closed
    connections (queued bcrypt checks above all, seconds of them): the next scenario must not
    start on that backlog. CPU time tells, where a probe request might slip through.
    """
    started = time.monotonic()
    window = 0.5
    quiet = window * os.sysconf("SC_CLK_TCK") * 0.05
    before = _cpu_ticks(pid)
    while time.monotonic() - started < timeout:
        time.sleep(window)
        after = _cpu_ticks(pid)
        if after - before <= quiet:
            break
        before = after
    return time.monotonic() - started


def app_env(database_url: str) -> dict[str, str]:
    """The app's environment: production settings on the benchmark database.

    Anything else in the caller's environment (DB_POOL_SIZE, ...) passes through, so that
    settings can be compared; `run` prints those that the app reads.
    """
    return {
        # Tokens are taken once, at the start: a bench.compare of several sides and rounds
        # lasts longer than the default 15 minutes (then every request would be a 401).
        "ACCESS_TOKEN_EXPIRE_MINUTES": "1440",
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(30),  # 40 characters
        "LOG_FORMAT": "json",
        "BCRYPT_ROUNDS": "12",  # the real cost (the seeded hash has it too)
        "RATE_LIMIT_ENABLED": "false",  # wrk logs in thousands of times from one address
        "EMAIL_BACKEND": "console",  # no mail server here (production needs one or this)
    }


def bare_env() -> dict[str, str]:
    return dict(os.environ)


# --- memory ----------------------------------------------------------------------------------


def _parents() -> dict[int, int]:
    """pid -> parent pid for every process (/proc/<pid>/stat; `children` files may be absent)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (VmRSS summed), in MB."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += _rss_kib(current)
        todo.extend(children.get(current, []))
    return total / 1024


class RssSampler:
    """Samples `tree_rss_mb(pid)` every `interval` seconds in a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_mb = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
