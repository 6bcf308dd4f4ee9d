"""The welcome page and the health checks (liveness, readiness)."""

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from app.api.deps import SessionDep
from app.api.responses import error_responses
from app.core.errors import ServiceUnavailable
from app.services.health import database_problem

router = APIRouter(tags=["meta"])


class Welcome(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"message": "Welcome to the posts API", "docs": "/docs"}]}
    )

    message: str
    docs: str


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str


class DatabaseHealth(Health):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "database": "ok"}]})

    database: str


@router.get(
    "/",
    summary="Welcome",
    response_description="A greeting and where the documentation is",
)
async def root() -> Welcome:
    """A greeting, and the path of the interactive documentation (Swagger UI)."""
    return Welcome(message="Welcome to the posts API", docs="/docs")


@router.get(
    "/health",
    summary="Liveness check",
    response_description="The process is up",
)
async def health() -> Health:
    """Liveness: answers without touching the database, for the platform's health check."""
    return Health(status="ok")


@router.get(
    "/health/db",
    summary="Readiness check (database)",
    response_description="The database answers and its schema is up to date",
    responses=error_responses(
        503,
        _503="The database cannot be reached, or its schema is out of date",
        detail_503=[
            "Database unavailable",
            "the database schema is at revision 0003, the code needs 0004: "
            "run the migrate step (python -m app.migrate)",
        ],
    ),
)
async def health_db(session: SessionDep) -> DatabaseHealth:
    """Readiness: the database answers and its schema is what this code needs. 503, with the
    reason, while it is not: the platform then sends no traffic to this instance."""
    if problem := await database_problem(session):
        raise ServiceUnavailable(problem)
    return DatabaseHealth(status="ok", database="ok")
