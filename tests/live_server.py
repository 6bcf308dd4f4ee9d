"""The app as a real server process, for the tests that need one (a browser, raw sockets,
several workers, a database that goes away): started on a free loopback port with its output
in a log file, waited for, and always stopped."""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from signal import SIGINT

import httpx
import pytest

from app.db.migrations import PROJECT_ROOT

# `python -c SERVE <port>`: the production server's options (app.serve.server_options, with
# WEB_CONCURRENCY workers), on loopback.
SERVE = (
    "import sys, uvicorn; from app.cli.serve import server_options; "
    "uvicorn.run(**{**server_options(), 'host': '127.0.0.1', 'port': int(sys.argv[1])})"
)


def free_port() -> int:
    """A loopback port nothing listens on (when this returns)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(
    args: list[str], env: dict[str, str], log_path: Path, cwd: Path = PROJECT_ROOT
) -> subprocess.Popen[bytes]:
    """`python <args>` in `cwd` (the project root), stdout and stderr into `log_path`."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Ctrl-C (uvicorn's graceful shutdown), then a kill if it takes longer than `timeout`."""
    if process.poll() is None:
        process.send_signal(SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_until_healthy(
    process: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not answer /health within {timeout:g} s:\n{log_path.read_text()}")


@contextmanager
def running(
    args: list[str],
    env: dict[str, str],
    log_path: Path,
    *,
    port: int,
    start_timeout: float = 60,
    stop_timeout: float = 10,
    cwd: Path = PROJECT_ROOT,
) -> Iterator[str]:
    """A server started by `python <args>`, listening on `port`: its base URL once `/health`
    answers 200; stopped when the block ends."""
    process = spawn(args, env, log_path, cwd)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_healthy(process, base_url, log_path, start_timeout)
        yield base_url
    finally:
        stop(process, stop_timeout)
