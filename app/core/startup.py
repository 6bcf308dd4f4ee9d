"""Ending the process when the app cannot start for a reason no restart can cure (invalid
settings), and uvicorn's supervising process with it.

`fastapi dev` runs the app in a child of uvicorn's reloader, which only restarts the child when
a watched `.py` file changes: a child that exits at import would leave the reloader running, the
port bound and the terminal blocked, waiting for an edit that cannot fix the environment or
`.env`. uvicorn offers no way to say "give up" (its reloader never reads the child's exit
status), so the child ends the reloader itself.
"""

import contextlib
import multiprocessing
import os
import signal
import sys
from typing import NoReturn

# The reloader handles SIGINT and SIGTERM by shutting down cleanly, and then its command exits
# with status 0, as after a Ctrl-C. SIGUSR1 it does not handle: it ends at once, and the command
# exits non-zero (138, 128 + 10, as `uv run` reports it), as a failed start should.
_GIVE_UP = signal.SIGUSR1


def refuse_to_start(message: str) -> NoReturn:
    """Print `message` on stderr and exit with status 1; in a process started by uvicorn's
    reloader (or its supervisor of several workers), end that parent too, so that the whole
    command stops instead of starting this process again."""
    # Said first: ending the parent gives the terminal back, and the message belongs before
    # the prompt.
    print(message, file=sys.stderr, flush=True)
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None and "uvicorn" in sys.modules:
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.kill(parent.pid, _GIVE_UP)
    raise SystemExit(1)
