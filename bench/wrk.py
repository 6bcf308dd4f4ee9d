"""Run `wrk` (the HTTP load generator, Debian's package) and read its summary."""

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "lua"
PROJECT_ROOT = LUA.parent.parent
THREADS = 2  # wrk threads (each drives connections / THREADS connections)
TIMEOUT = "10s"  # a request slower than this counts as a socket timeout (an error)


@dataclass
class WrkResult:
    scenario: str
    connections: int
    duration_s: float
    requests: int
    rps: float  # login rows (bench/logins.py): the steady rate
    p50_ms: float
    p99_ms: float
    mean_ms: float  # the mean latency of the completed requests
    non_2xx: int  # wrk counts statuses >= 400 ("Non-2xx or 3xx responses")
    socket_errors: int  # connect + read + write + timeout
    timeouts: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "errors": self.errors}


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian/Ubuntu)")
    return path


def command(
    script: str, url: str, connections: int, duration: float, threads: int = THREADS
) -> list[str]:
    return [
        require_wrk(),
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{duration:g}s",
        f"--timeout={TIMEOUT}",
        "--latency",
        "-s", str(LUA / f"{script}.lua"),
        url,
    ]  # fmt: skip


def start(
    script: str,
    url: str,
    connections: int,
    duration: float,
    env: dict[str, str],
    threads: int = THREADS,
) -> subprocess.Popen[str]:
    """Start wrk in the background (the mixed scenario runs two at once)."""
    return subprocess.Popen(
        command(script, url, connections, duration, threads),
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(
    process: subprocess.Popen[str], scenario: str, connections: int, duration: float
) -> WrkResult:
    output, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed for {scenario} (exit {process.returncode}):\n{output}")
    return parse(output, scenario, connections, duration)


def run(
    script: str,
    url: str,
    connections: int,
    duration: float,
    env: dict[str, str],
    scenario: str | None = None,
    threads: int = THREADS,
) -> WrkResult:
    process = start(script, url, connections, duration, env, threads=threads)
    return finish(process, scenario or script, connections, duration)


# --- parsing wrk's text summary --------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _to_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if match is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def _percentile(output: str, percent: int) -> float:
    # "Latency Distribution" lines: "     50%    1.23ms"
    match = re.search(rf"^\s+{percent}%\s+(\S+)\s*$", output, re.MULTILINE)
    return _to_ms(match.group(1)) if match else float("nan")


def _mean(output: str) -> float:
    # Thread Stats: "    Latency     1.40ms    3.10ms  37.01ms   93.57%" (avg, stdev, max)
    match = re.search(r"^\s+Latency\s+([\d.]+(?:us|ms|s|m|h))\s", output, re.MULTILINE)
    return _to_ms(match.group(1)) if match else float("nan")


def parse(output: str, scenario: str, connections: int, duration: float) -> WrkResult:
    """Read requests/s, p50/p99 (in ms) and the errors out of `wrk --latency`'s summary."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    requests = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if rps is None or requests is None:
        raise RuntimeError(f"cannot read wrk's output for {scenario}:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    # A script that expects some statuses >= 400 (flood.lua: 403) counts the others itself.
    unexpected = re.search(r"^Unexpected statuses: (\d+)$", output, re.MULTILINE)
    if unexpected:
        non_2xx = unexpected
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_counts = [int(n) for n in sockets.groups()] if sockets else [0, 0, 0, 0]
    return WrkResult(
        scenario=scenario,
        connections=connections,
        duration_s=duration,
        requests=int(requests.group(1)),
        rps=float(rps.group(1)),
        p50_ms=_percentile(output, 50),
        p99_ms=_percentile(output, 99),
        mean_ms=_mean(output),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(socket_counts),
        timeouts=socket_counts[3],
    )
