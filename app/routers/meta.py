from fastapi import APIRouter
from sqlalchemy import text

from app.db import SessionDep
from app.errors import ServiceUnavailable, error_responses
from app.migrate import schema_problem

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
    connection = await session.connection()
    await connection.execute(text("SELECT 1"))  # unreachable: 503 from the error handler
    if problem := await schema_problem(connection):
        raise ServiceUnavailable(problem)
    return {"status": "ok", "database": "ok"}
