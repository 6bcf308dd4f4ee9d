"""Production entry point (the Dockerfile's command): `python -m app.serve`.

Checks the settings first, so that unsafe production settings stop the container with a
clear message and a non-zero exit, instead of uvicorn restarting refused workers forever.
Then serves on 0.0.0.0:$PORT with $WEB_CONCURRENCY workers, trusting proxy headers from
FORWARDED_ALLOW_IPS only. Migrations are not run here: see `python -m app.migrate`.
"""

import os
from collections.abc import Mapping
from typing import Any

import uvicorn

from app.core.config import settings


def server_options(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    return {
        "app": "app.main:app",
        "host": "0.0.0.0",  # inside a container, behind the platform's proxy
        "port": int(environ.get("PORT", "8000")),
        "workers": int(environ.get("WEB_CONCURRENCY", "1")),
        # The client address (rate limits, logs) and scheme come from X-Forwarded-For / -Proto
        # only when the peer is in FORWARDED_ALLOW_IPS (default 127.0.0.1): trusting "*" on a
        # server reachable directly would let anyone pick their address. The image sets "*"
        # for Render and Railway, whose proxy is the only way in (README, "Rate limits").
        "proxy_headers": True,
        "forwarded_allow_ips": settings.FORWARDED_ALLOW_IPS,
        "access_log": False,  # the app logs each request itself, with its request id
        "timeout_graceful_shutdown": 20,
        # Slow and greedy clients (README): httptools with a deadline and a size cap on request
        # heads (app/web/http_protocol.py); bodies and exact size limits are request_limits.py's.
        "http": "app.web.http_protocol:BoundedHttpToolsProtocol",
        "ws": "none",  # no WebSocket routes: upgrade requests stay plain HTTP
        "server_header": False,  # no `server: uvicorn` on every answer (API.md)
        "limit_concurrency": settings.LIMIT_CONCURRENCY,
        "backlog": settings.BACKLOG,
        "timeout_keep_alive": settings.TIMEOUT_KEEP_ALIVE,
    }


def main() -> int:
    settings.refuse_unsafe_production()
    uvicorn.run(**server_options())
    return 0
