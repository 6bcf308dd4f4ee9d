"""A throwaway PostgreSQL cluster for outage tests: initdb in a temporary folder, its own port
on 127.0.0.1, stopped, restarted and crashed at will. Never the shared server.

initdb refuses to run as root, so as root (CI) every server command runs as the `postgres` OS
user (`runuser`), in a folder handed to that user; otherwise it runs as the current user.
Speed over durability against power loss: fsync off, small shared buffers. A process crash
(`pg_ctl stop -m immediate`, a killed backend) still keeps every committed transaction, since
synchronous_commit stays on: a commit's WAL reaches the OS before the client hears about it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psycopg
from psycopg import sql

from tests.live_server import free_port

BIN_DIR = Path(os.environ.get("PG_BIN_DIR") or "/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"
# What the server logs once it has ended every backend after one crashed (and then recovers).
_REINITIALIZING = "all server processes terminated; reinitializing"
ShutdownMode = Literal["smart", "fast", "immediate"]


def missing_binaries() -> str | None:
    """Why a cluster cannot be made here, or None when it can."""
    for name in ("initdb", "pg_ctl", "postgres"):
        if not os.access(BIN_DIR / name, os.X_OK):
            return f"no PostgreSQL binaries at {BIN_DIR} ({name}); set PG_BIN_DIR"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root needs `runuser` to start PostgreSQL as the postgres user"
    return None


@dataclass(frozen=True)
class Backend:
    pid: int
    state: str  # active, idle, idle in transaction, ...
    wait_event: str  # what it waits for, e.g. `advisory` or `relation` (a lock), or empty
    query: str  # the running statement, or the last one


@dataclass
class PgCluster:
    directory: Path  # holds data/, the server log and the unix socket
    port: int
    run_as: str | None  # OS user that runs the server commands (None: the current user)

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3) of a database on this cluster."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    # -- life cycle ----------------------------------------------------------------------------

    @classmethod
    def create(cls) -> PgCluster:
        """initdb a new cluster (not started yet)."""
        run_as = SUPERUSER if os.geteuid() == 0 else None
        directory = Path(tempfile.mkdtemp(prefix="posts-outage-pg-"))
        cluster = cls(directory=directory, port=free_port(), run_as=run_as)
        try:
            if run_as is not None:
                shutil.chown(directory, user=run_as, group=run_as)
            cluster._run(
                "initdb", "-D", str(cluster.data_dir), "-U", SUPERUSER, "--auth=trust",
                "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
            )  # fmt: skip
            settings = {
                "listen_addresses": "'127.0.0.1'",
                "port": str(cluster.port),
                "unix_socket_directories": f"'{directory}'",
                "max_connections": "40",
                "shared_buffers": "16MB",
                "fsync": "off",
                "full_page_writes": "off",
                "logging_collector": "off",
                "log_min_messages": "warning",
            }
            conf = "".join(f"{key} = {value}\n" for key, value in settings.items())
            with (cluster.data_dir / "postgresql.conf").open("a") as file:
                file.write(f"\n# posts-api outage tests\n{conf}")
        except BaseException:
            cluster.destroy()
            raise
        return cluster

    def start(self) -> None:
        self._run(
            "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "30"
        )

    def stop(self, mode: ShutdownMode = "fast") -> None:
        """`fast`: backends are told to exit, open transactions roll back. `immediate`: the
        server quits at once, like a crash (recovery from the WAL at the next start)."""
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "30")

    def restart(self, mode: ShutdownMode = "fast") -> None:
        self._run(
            "pg_ctl", "restart", "-D", str(self.data_dir), "-m", mode, "-l", str(self.log_file),
            "-w", "-t", "30",
        )  # fmt: skip

    def is_running(self) -> bool:
        status = self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False)
        return status.returncode == 0

    def destroy(self) -> None:
        """Stop the server (if it runs) at once and delete everything. Safe to call twice."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- inside the server ---------------------------------------------------------------------

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        """A superuser connection in autocommit mode, for setup and for killing backends."""
        return psycopg.connect(self.dsn(database), autocommit=True, connect_timeout=5)

    def create_database(self, name: str) -> None:
        with self.connect() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def backends(self, database: str) -> list[Backend]:
        """Every client backend on `database`, other than the one asking."""
        with self.connect() as admin:
            rows = admin.execute(
                "SELECT pid, coalesce(state, ''), coalesce(wait_event, ''), query"
                " FROM pg_stat_activity WHERE datname = %s"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
        return [Backend(*row) for row in rows]

    def postmaster_pid(self) -> int:
        return int((self.data_dir / "postmaster.pid").read_text().split()[0])

    def terminate_backend(self, pid: int) -> bool:
        """What an administrator (or a failover) does: the backend rolls back and exits."""
        with self.connect() as admin:
            row = admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
        return bool(row and row[0])

    def kill_backend(self, pid: int, timeout: float = 10.0) -> None:
        """SIGKILL a backend: the postmaster treats it as a crash and restarts every backend.
        Returns once it has begun to (its log says so): until then the server still accepts
        connections that the restart then cuts, which a test would take for recovery done."""
        restarts = self._log_text().count(_REINITIALIZING)
        os.kill(pid, signal.SIGKILL)  # ours, or we are root
        deadline = time.monotonic() + timeout
        while self._log_text().count(_REINITIALIZING) == restarts:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no crash restart after killing {pid}\n{self.log_tail()}")
            time.sleep(0.01)

    def _log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    # -- plumbing ------------------------------------------------------------------------------

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(BIN_DIR / program), *args]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(
            command,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n{self.log_tail()}"
            )
        return result

    def log_tail(self, lines: int = 30) -> str:
        text = self._log_text()
        if not text:
            return "(no server log)"
        return "server log:\n" + "\n".join(text.splitlines()[-lines:])
