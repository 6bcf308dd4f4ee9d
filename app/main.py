"""The application: lifespan, middleware, error handlers, routers."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp

from app.api.responses import document_validation_errors
from app.api.routes import (
    admin,
    auth,
    comments,
    meta,
    password_reset,
    posts,
    sessions,
    users,
    votes,
)
from app.core.config import settings
from app.core.logging import configure_logging, logger
from app.core.security import prepare_dummy_hash
from app.db.engine import engine
from app.db.migrations import (
    SCHEMA_HEAD,
    can_heal,
    connection_problem,
    current_revision,
    development_schema_problem,
    how_to_fix,
    is_empty,
    migration_error_message,
    schema_problem,
    upgrade_to_head,
)
from app.ratelimit.limits import rate_limits_from
from app.web.docs import API_DESCRIPTION, add_docs
from app.web.errors import register_error_handlers
from app.web.middleware import JSONCORSMiddleware, RequestContextMiddleware
from app.web.request_limits import RequestLimits
from app.web.text_encoding import StrictUTF8

MAX_BODY_BYTES = 1024 * 1024

# The sections of Swagger (/docs), in the order a newcomer needs them.
OPENAPI_TAGS = [
    {"name": "meta", "description": "Is the service up, and its database?"},
    {"name": "auth", "description": "Log in (OAuth2 password flow), refresh, log out."},
    {"name": "sessions", "description": "Your logins, one per device; end any of them."},
    {"name": "password reset", "description": "A forgotten password, reset by e-mail."},
    {"name": "users", "description": "Sign up, and your account."},
    {"name": "posts", "description": "The feed, and your posts and drafts."},
    {"name": "votes", "description": "One vote per user and post."},
    {"name": "comments", "description": "Comments on the posts you can see."},
    {"name": "admin", "description": "Accounts and posts, for admins."},
]


async def _report_schema() -> None:
    """Say at start-up, loudly, when the database is behind the code (or unreachable)."""
    try:
        async with engine.connect() as connection:
            problem = await schema_problem(connection)
    except (DBAPIError, OSError) as error:
        logger.warning(
            "database unreachable at start-up, requests will retry: %s", connection_problem(error)
        )
        return
    if problem:
        logger.error("%s; /health/db answers 503 until then", problem)
    else:
        logger.info("database schema is up to date (revision %s)", SCHEMA_HEAD)


async def _prepare_development_database() -> None:
    """`fastapi dev`: a new, empty database (a fresh clone's app.db) is brought to the latest
    revision; one that has a schema is never migrated here, so a revision just generated is
    applied only when the developer runs `alembic upgrade head`. Problems are one log line
    each (no traceback), and the server keeps running: /health/db says 503 until they are fixed.
    """
    try:
        async with engine.connect() as connection:
            empty = await is_empty(connection)
            current = None if empty else await current_revision(connection)
    except (DBAPIError, OSError) as error:
        logger.error(
            "the database cannot be reached: %s; %s (requests answer 503 until then)",
            connection_problem(error),
            "start it" if can_heal(error) else how_to_fix(error),
        )
        return
    if empty:
        try:
            await anyio.to_thread.run_sync(upgrade_to_head)
        except Exception as error:  # a broken revision: say it in a few lines, keep serving
            logger.error("%s", migration_error_message(error))
            return
        logger.info("new database: migrated to the latest revision (%s)", SCHEMA_HEAD)
    elif problem := development_schema_problem(current):
        logger.error("%s", problem)
    else:
        logger.info("database schema is up to date (revision %s)", SCHEMA_HEAD)


def _freeze_startup_objects() -> None:
    """Keep the garbage collector from walking, again and again, the objects start-up made.

    The modules, the routes and SQLAlchemy's and pydantic's caches (some 166,000 objects) live
    as long as the process. Every collection of the oldest generation walked all of them: under
    a write load, a pause of 70 to 108 ms every second or two, 10 to 19% of the worker's CPU.
    Frozen (moved to the permanent generation, `gc.freeze`), they are no longer walked; what
    requests leave behind is still collected as before (docs/performance.md, bench/README.md).
    """
    gc.collect()  # garbage made during start-up is freed, not frozen
    gc.freeze()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    if settings.ENVIRONMENT == "development":
        # Local convenience: `fastapi dev` on a fresh clone gets the latest schema. Elsewhere
        # migrations are their own step, never raced by several workers.
        await _prepare_development_database()
    else:
        await _report_schema()
    for warning in settings.production_warnings():
        logger.warning("%s", warning)
    await prepare_dummy_hash()
    _freeze_startup_objects()
    yield
    await app.state.rate_limits.aclose()
    await engine.dispose()


class PostsAPI(FastAPI):
    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            document_validation_errors(super().openapi())  # FastAPI caches the document
        return super().openapi()

    def build_middleware_stack(self) -> ASGIApp:
        # Outermost, so that nothing (not even FastAPI's own limiter) answers in plain text.
        stack = super().build_middleware_stack()
        stack = StrictUTF8(stack, max_body_bytes=MAX_BODY_BYTES)
        stack = RequestLimits(
            stack, body_timeout=settings.REQUEST_BODY_TIMEOUT, max_body_bytes=MAX_BODY_BYTES
        )
        return RequestContextMiddleware(stack)


def create_app() -> FastAPI:
    settings.refuse_unsafe_production()
    configure_logging(settings.log_format, settings.LOG_LEVEL)
    app = PostsAPI(
        title="Posts API",
        summary="Users, login, posts, comments and votes.",
        description=API_DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
        # Trailing slashes: a relative redirect from app/web/errors.py, never built from Host.
        redirect_slashes=False,
        # Served by app/web/docs.py from local files instead of a CDN.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_tags=OPENAPI_TAGS,
    )
    if settings.CORS_ORIGINS:
        app.add_middleware(
            JSONCORSMiddleware,
            allow_origins=settings.CORS_ORIGINS,
            allow_credentials=settings.CORS_ALLOW_CREDENTIALS,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.state.rate_limits = rate_limits_from(settings)
    register_error_handlers(app)
    # FastAPI tries the routes one by one, in this order, for every request: the busiest
    # routers first (matching a vote behind the 24 routes before it cost 8% of its CPU).
    # Swagger keeps its own order (OPENAPI_TAGS).
    for module in (posts, votes, comments, auth, users, sessions, meta, password_reset, admin):
        app.include_router(module.router)
    add_docs(app)
    return app


app = create_app()
