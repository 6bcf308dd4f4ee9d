from fastapi import APIRouter
from sqlalchemy import text

from app.db import SessionDep

router = APIRouter(tags=["meta"])


@router.get("/")
async def root() -> dict[str, str]:
    return {"message": "Welcome to the posts API", "docs": "/docs"}


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: answers without touching the database."""
    return {"status": "ok"}


@router.get(
    "/health/db",
    responses={503: {"description": "The database cannot be reached"}},
)
async def health_db(session: SessionDep) -> dict[str, str]:
    await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    return {"status": "ok", "database": "ok"}
