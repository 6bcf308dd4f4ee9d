"""Where the machine's CPU went during a scenario: the server's event loop and its other threads
(the app's: bcrypt; the reference's: its thread pool), the PostgreSQL backends of the benchmark
database, everything else, and the time the cores sat idle or were stolen by the hypervisor.
From /proc (Linux), read before and after the load.

It answers why logins run below the machine's bcrypt capacity: logins/s = the CPU bcrypt got
/ the CPU of one check. What bcrypt did not get was idle, stolen, or spent on something else.
"""

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_TICK = float(os.sysconf("SC_CLK_TCK"))  # /proc's unit of CPU time (USER_HZ)


def _ticks(stat: str) -> int:
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None  # gone meanwhile


def _server_threads(pid: int) -> dict[str, int]:
    """CPU ticks of the server's main thread (the event loop) and of its other threads (Python
    3.11 does not name its threads for the kernel, so they are told apart no further): the
    process's total, which keeps the time of threads that have ended, less the main thread's."""
    total = _ticks(Path(f"/proc/{pid}/stat").read_text())
    main = _ticks(Path(f"/proc/{pid}/task/{pid}/stat").read_text())
    return {"threads": total - main, "event loop": main}


def _postgres_ticks(database: str) -> dict[int, int]:
    """CPU ticks of each PostgreSQL backend connected to `database` (by its process title)."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        title = _read(entry / "cmdline")
        if title is None or not title.startswith("postgres:") or f" {database} " not in title:
            continue
        stat = _read(entry / "stat")
        if stat is not None:
            found[int(entry.name)] = _ticks(stat)
    return found


def _machine() -> list[int]:
    """The `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal ..."""
    return [int(n) for n in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]


@dataclass
class CpuSplit:
    """CPU seconds over one scenario; `per_request` divides them by its responses."""

    wall_s: float
    cores: int
    server: dict[str, float]  # per thread group
    postgres: float  # the benchmark database's backends
    others: float  # busy CPU of everything else: wrk, other processes, the kernel's own work
    idle: float  # idle and iowait, all cores
    steal: float  # taken by the hypervisor

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def per_response(self, responses: float) -> dict[str, float]:
        """ms of CPU per response by where it went, and the % of the cores' time idle or
        stolen: `{"threads": 235.1, "event loop": 4.2, "PostgreSQL": 1.0, "others": 3.1,
        "idle %": 1.5, "steal %": 0.2}`."""
        per = 1000 / max(responses, 1)
        capacity = self.wall_s * self.cores
        return {
            **{name: seconds * per for name, seconds in self.server.items()},
            "PostgreSQL": self.postgres * per,
            "others": self.others * per,
            "idle %": 100 * self.idle / capacity,
            "steal %": 100 * self.steal / capacity,
        }

    def describe(self, responses: float) -> str:
        """E.g. `threads 235.1 ms, event loop 4.2 ms, PostgreSQL 1.0 ms, others 3.1 ms per
        response; idle 1.5%, steal 0.2% of the cores`."""
        return describe_split(self.per_response(responses))


def describe_split(split: dict[str, float]) -> str:
    """A `per_response` split (or the medians of several) as one line."""
    ms = ", ".join(f"{name} {value:.1f} ms" for name, value in split.items() if "%" not in name)
    return (
        f"{ms} per response; idle {split.get('idle %', 0):.1f}%, "
        f"steal {split.get('steal %', 0):.1f}% of the cores"
    )


class CpuWatch:
    """`with CpuWatch(server_pid, database) as watch: ...`, then `watch.split`."""

    def __init__(self, pid: int, database: str) -> None:
        self.pid = pid
        self.database = database
        self.split: CpuSplit | None = None

    def __enter__(self) -> "CpuWatch":
        self._machine = _machine()
        self._server = _server_threads(self.pid)
        self._postgres = _postgres_ticks(self.database)
        return self

    def __exit__(self, *_: object) -> None:
        machine = [after - before for after, before in zip(_machine(), self._machine, strict=True)]
        server = _server_threads(self.pid)
        postgres = _postgres_ticks(self.database)
        user, nice, system, idle, iowait, irq, softirq, steal = machine
        total = sum(machine)
        server_s = {
            group: (ticks - self._server.get(group, 0)) / _TICK
            for group, ticks in sorted(server.items(), key=lambda item: -item[1])
        }
        # Backends opened during the load count from zero.
        postgres_s = sum(t - self._postgres.get(pid, 0) for pid, t in postgres.items()) / _TICK
        busy = (user + nice + system + irq + softirq) / _TICK
        cores = os.cpu_count() or 1  # /proc/stat's first line sums them all
        self.split = CpuSplit(
            wall_s=total / _TICK / cores,
            cores=cores,
            server={group: seconds for group, seconds in server_s.items() if seconds > 0},
            postgres=postgres_s,
            others=max(0.0, busy - sum(server_s.values()) - postgres_s),
            idle=(idle + iowait) / _TICK,
            steal=steal / _TICK,
        )
