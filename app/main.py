"""The application: lifespan, middleware, error handlers, routers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from app.body_limit import RejectDeclaredOversizedBodies
from app.config import settings
from app.db import engine
from app.errors import register_error_handlers
from app.migrate import upgrade_to_head
from app.routers import auth, meta, posts, users, votes

MAX_BODY_BYTES = 1024 * 1024


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    if settings.ENVIRONMENT == "development":
        # Local convenience: `fastapi dev` on a fresh clone gets the latest schema.
        # Elsewhere migrations are their own step, never raced by several workers.
        await anyio.to_thread.run_sync(upgrade_to_head)
    yield
    await engine.dispose()


class PostsAPI(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outermost, so that nothing (not even FastAPI's own limiter) answers in plain text.
        stack = super().build_middleware_stack()
        return RejectDeclaredOversizedBodies(stack, max_body_size=MAX_BODY_BYTES)


def create_app() -> FastAPI:
    app = PostsAPI(
        title="Posts API",
        summary="Users, login, posts and votes.",
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
    )
    if settings.CORS_ORIGINS:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.CORS_ORIGINS,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    register_error_handlers(app)
    for module in (meta, auth, users, posts, votes):
        app.include_router(module.router)
    return app


app = create_app()
