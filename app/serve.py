"""Production entry point (the Dockerfile's command): `python -m app.serve`.

Checks the settings first, so that unsafe production settings stop the container with a
clear message and a non-zero exit, instead of uvicorn restarting refused workers forever.
Then serves on 0.0.0.0:$PORT with $WEB_CONCURRENCY workers, trusting the platform's proxy
headers for client addresses. Migrations are not run here: see `python -m app.migrate`.
"""

import os

import uvicorn

from app.config import settings


def main() -> None:
    settings.refuse_unsafe_production()
    uvicorn.run(
        "app.main:app",
        host="0.0.0.0",  # inside a container, behind the platform's proxy
        port=int(os.environ.get("PORT", "8000")),
        workers=int(os.environ.get("WEB_CONCURRENCY", "1")),
        # Render and Railway put a proxy in front: take the client address and scheme
        # from X-Forwarded-For / -Proto, from the addresses in FORWARDED_ALLOW_IPS.
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "*"),
        access_log=False,  # the app logs each request itself, with its request id
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
