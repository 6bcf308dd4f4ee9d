"""How long `POST /password-reset` takes for an address with an account and for one without
(API.md: "about the same time", so that timing says nothing about who has an account).

    uv run python -m bench.reset_timing [--rounds 30] [--database-url URL]

Starts the app as in production (one uvicorn worker, bcrypt cost 12) on a scratch SQLite file
(or the given, empty, database, which it migrates), with e-mail sent over SMTP to a local
aiosmtpd server, registers one account, then sends the two kinds of request alternately and
prints the medians and spreads of their response times, measured by the client. The e-mail
is delivered after the response: the known address's e-mails arrive while it is measured.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller

from bench.server import Server, app_env, free_port

KNOWN = "known@bench.example"
UNKNOWN = "unknown@bench.example"


class _Count:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, *_: object) -> str:
        self.received += 1
        return "250 OK"


def _time(client: httpx.Client, address: str) -> float:
    started = time.perf_counter()
    response = client.post("/password-reset", json={"email": address})
    elapsed = time.perf_counter() - started
    assert response.status_code == 202, response.text
    return elapsed * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", help="an empty database (default: a scratch SQLite)")
    args = parser.parse_args()

    from app.core.config import to_async_url
    from app.db.migrations import upgrade_to_head  # the app's own migration runner

    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'reset.db'}"
        upgrade_to_head(to_async_url(url))
        mailbox = _Count()
        smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
        smtp.start()
        env = {
            **app_env(url),
            "EMAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_SECURITY": "none",
        }
        try:
            with (
                Server("app.main:app", "/health", env, "reset_timing.log") as server,
                httpx.Client(base_url=server.url, timeout=30) as client,
            ):
                created = client.post("/users", json={"email": KNOWN, "password": "x" * 12})
                assert created.status_code == 201, created.text
                for _ in range(5):  # warm-up: connections, first statements
                    _time(client, KNOWN), _time(client, UNKNOWN)
                known, unknown = [], []
                for _ in range(args.rounds):
                    known.append(_time(client, KNOWN))
                    unknown.append(_time(client, UNKNOWN))
                time.sleep(1)  # the last e-mails
        finally:
            smtp.stop()

    print(f"POST /password-reset, {args.rounds} requests each, alternating (ms, client side)")
    for name, figures in (("known address", known), ("unknown address", unknown)):
        quartiles = statistics.quantiles(figures, n=4)
        print(
            f"  {name:16} median {statistics.median(figures):6.2f}"
            f"   quartiles {quartiles[0]:6.2f} to {quartiles[2]:6.2f}"
            f"   max {max(figures):6.2f}"
        )
    difference = statistics.median(known) - statistics.median(unknown)
    print(f"  difference of the medians: {difference:+.2f} ms")
    print(f"  e-mails received by the SMTP server: {mailbox.received}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
