"""A pool of threads that serves its callers in turn, not first come first served.

Each piece of work names whose it is (a key: for bcrypt, the account). When a thread is free it
takes the oldest work of the key with the fewest pieces running, and among keys with as many
running, of the key that has waited longest since its last turn. So one key's flood of work
waits behind everyone else's single requests instead of in front of them, and when nobody else
is waiting it still gets every thread.

concurrent.futures.ThreadPoolExecutor has one FIFO queue, which is what let 300 wrong-password
checks of one account hold up every login for a minute; there is no maintained library for a
keyed fair queue, and it is this small.
"""

import threading
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar, TypeVarTuple

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


@dataclass(frozen=True)
class _Work:
    future: "Future[Any]"
    function: Callable[..., Any]
    args: tuple[Any, ...]


class FairThreadPool:
    def __init__(
        self, threads: int, name: str, initializer: Callable[[], None] = lambda: None
    ) -> None:
        self.threads = threads
        self._name = name
        self._initializer = initializer
        self._changed = threading.Condition()
        # Keys with work waiting, in the order they get their turn (a key served goes last).
        self._waiting: dict[Hashable, deque[_Work]] = {}
        self._running: dict[Hashable, int] = {}  # pieces of work running (or just taken), per key
        self._started = False

    def submit(self, key: Hashable, function: Callable[[*Ts], T], *args: *Ts) -> "Future[T]":
        """Run `function(*args)` on a thread of the pool in `key`'s turn. Cancelling the future
        before its turn drops the work."""
        future: Future[T] = Future()
        work = _Work(future, function, args)
        with self._changed:
            if not self._started:  # started on first use, as ThreadPoolExecutor does
                self._start()
            self._waiting.setdefault(key, deque()).append(work)
            self._changed.notify()
        return future

    def _start(self) -> None:
        for number in range(self.threads):
            name = f"{self._name}_{number}"
            threading.Thread(target=self._serve, name=name, daemon=True).start()
        self._started = True

    def _take(self) -> tuple[Hashable, _Work]:
        with self._changed:
            while not self._waiting:
                self._changed.wait()
            # The first of the keys with the fewest running: the dict keeps the turn order.
            key = min(self._waiting, key=lambda waiting: self._running.get(waiting, 0))
            queue = self._waiting.pop(key)
            work = queue.popleft()
            if queue:
                self._waiting[key] = queue  # its next piece waits for the others' turn
            self._running[key] = self._running.get(key, 0) + 1
            return key, work

    def _done(self, key: Hashable) -> None:
        with self._changed:
            self._running[key] -= 1
            if not self._running[key]:
                del self._running[key]

    def _serve(self) -> None:
        self._initializer()
        while True:
            key, work = self._take()
            try:
                if work.future.set_running_or_notify_cancel():  # False: cancelled meanwhile
                    try:
                        result = work.function(*work.args)
                    except BaseException as error:  # for the caller, as ThreadPoolExecutor does
                        work.future.set_exception(error)
                    else:
                        work.future.set_result(result)
            finally:
                self._done(key)
