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


def measure(seconds: float = 10.0) -> BcryptCapacity:
    """Checks on every core until `seconds` have passed, after one unmeasured check each.
    Each thread's rate counts its checks up to the end of its last one (a check takes about
    0.3 s: cutting the last ones off, or waiting for the slowest thread, would be off by
    several percent).

    Why 10 s and a warm-up: on a virtual machine seen here, 3 s from idle measured 6.05-6.16
    hashes/s (313-328 ms of CPU per check) while the servers' bcrypt threads, measured in the
    same runs, took 309-318 ms per check; logins came out above 100% of such a "capacity"."""
    hashed = seed.password_hash()
    password = seed.PASSWORD.encode()
    threads = usable_cores()
    counts, busy, cpu = [0] * threads, [0.0] * threads, [0.0] * threads
    warm = threading.Barrier(threads)
    started = deadline = 0.0

    def check(index: int) -> None:
        nonlocal started, deadline
        assert bcrypt.checkpw(password, hashed)  # the warm-up
        if warm.wait() == 0:  # one thread sets the clock, then all start together
            started = time.monotonic()
            deadline = started + seconds
        warm.wait()
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
