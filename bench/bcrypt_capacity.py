"""What this machine's cores can hash: the ceiling for logins (issue 13's login target).

`bcrypt.checkpw` of a cost-12 hash of the benchmark password (the seeded users' cost) on as
many threads as the app's bcrypt pool has (one per usable core), for a few seconds: bcrypt
releases the GIL, so the threads hash in parallel, as the app's do. `POST /login` on one
worker cannot beat it.
"""

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import bcrypt

from app.core.security import usable_cores
from bench import seed


@dataclass(frozen=True)
class BcryptCapacity:
    hashes_per_s: float
    threads: int
    hashes: int
    seconds: float
    cpu_per_hash_ms: float  # a check's CPU time (the threads' CPU over their checks)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure(seconds: float = 3.0) -> BcryptCapacity:
    """Checks on every core until `seconds` have passed. Each thread's rate counts its checks
    up to the end of its last one (a check takes about 0.3 s: with a dozen in all, cutting
    the last ones off, or waiting for the slowest thread, would be off by several percent)."""
    hashed = seed.password_hash()
    password = seed.PASSWORD.encode()
    threads = usable_cores()
    counts, busy, cpu = [0] * threads, [0.0] * threads, [0.0] * threads
    started = time.monotonic()
    deadline = started + seconds

    def check(index: int) -> None:
        cpu_started = time.thread_time()
        while time.monotonic() < deadline:
            assert bcrypt.checkpw(password, hashed)
            counts[index] += 1
        busy[index] = time.monotonic() - started
        cpu[index] = time.thread_time() - cpu_started

    workers = [threading.Thread(target=check, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    rate = sum(count / elapsed for count, elapsed in zip(counts, busy, strict=True))
    cpu_per_hash_ms = 1000 * sum(cpu) / max(sum(counts), 1)
    return BcryptCapacity(rate, threads, sum(counts), max(busy), cpu_per_hash_ms)
