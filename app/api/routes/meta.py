"""The welcome page and the health checks (liveness, readiness)."""

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.api.responses import error_responses
from app.core.errors import ServiceUnavailable
from app.services.health import database_problem

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
    responses=error_responses(
        503, _503="The database cannot be reached, or its schema is out of date"
    ),
)
async def health_db(session: SessionDep) -> dict[str, str]:
    """Readiness: the database answers and its schema is what this code needs."""
    if problem := await database_problem(session):
        raise ServiceUnavailable(problem)
    return {"status": "ok", "database": "ok"}
