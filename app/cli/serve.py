"""Production entry point (the Dockerfile's command): `python -m app.serve`.

Checks the settings first, so that unsafe production settings stop the container with a
clear message and a non-zero exit, instead of uvicorn restarting refused workers forever.
Then serves on 0.0.0.0:$PORT with $WEB_CONCURRENCY workers (both settings, so from the
environment or `.env`), trusting proxy headers from FORWARDED_ALLOW_IPS only. Migrations are
not run here: see `python -m app.migrate`.
"""

from typing import Any

import uvicorn

from app.core.config import Settings, settings
from app.core.logging import uvicorn_log_config


def server_options(config: Settings | None = None) -> dict[str, Any]:
    config = config or settings
    return {
        "app": "app.main:app",
        "host": "0.0.0.0",  # inside a container, behind the platform's proxy
        "port": config.PORT,
        "workers": config.WEB_CONCURRENCY,
        # uvicorn's own lines (start-up, errors) in the app's format: JSON in production.
        "log_config": uvicorn_log_config(config.log_format, config.LOG_LEVEL),
        # The client address (rate limits, logs) and scheme come from X-Forwarded-For / -Proto
        # only when the peer is in FORWARDED_ALLOW_IPS (default 127.0.0.1): trusting "*" on a
        # server reachable directly would let anyone pick their address. The image sets "*"
        # for Render and Railway, whose proxy is the only way in (docs/operations.md, "Rate
        # limits").
        "proxy_headers": True,
        "forwarded_allow_ips": config.FORWARDED_ALLOW_IPS,
        "access_log": False,  # the app logs each request itself, with its request id
        "timeout_graceful_shutdown": 20,
        # Slow and greedy clients (docs/operations.md): httptools with a deadline and a size cap
        # on request heads (app/web/http_protocol.py); bodies and exact size limits are
        # request_limits.py's.
        "http": "app.web.http_protocol:BoundedHttpToolsProtocol",
        "ws": "none",  # no WebSocket routes: upgrade requests stay plain HTTP
        "server_header": False,  # no `server: uvicorn` on every answer (API.md)
        "limit_concurrency": config.LIMIT_CONCURRENCY,
        "backlog": config.BACKLOG,
        "timeout_keep_alive": config.TIMEOUT_KEEP_ALIVE,
    }


def main() -> int:
    settings.refuse_unsafe_production()
    uvicorn.run(**server_options())
    return 0
