"""The caller's sessions (logged-in devices): listing them, ending one."""

from typing import Annotated

from fastapi import APIRouter, Path, status

from app.api.deps import CallerCheckedInStatement, CurrentUser, SessionDep
from app.api.responses import error_responses
from app.core.errors import NotFound
from app.models import MAX_ID, SessionPublic
from app.services import sessions

router = APIRouter(prefix="/sessions", tags=["sessions"], responses=error_responses(401, 503))

SessionId = Annotated[int, Path(ge=1, le=MAX_ID, description="The session's id")]


@router.get(
    "",
    summary="List your sessions",
    response_description="Your live sessions (logged-in devices), most recently used first",
)
async def list_sessions(
    session: SessionDep, claims: CallerCheckedInStatement
) -> list[SessionPublic]:
    """The caller's live sessions, most recently used first (used: its login or its last
    refresh); `current` marks the one of the token that asks."""
    return await sessions.list_sessions(session, claims)


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End one of your sessions",
    response_description="The session ended: its tokens no longer work",
    responses=error_responses(
        404, _404="No such live session of yours", detail_404="Session not found"
    ),
)
async def end_session(session: SessionDep, user: CurrentUser, session_id: SessionId) -> None:
    """End one of the caller's sessions (a lost phone): its tokens stop working at once."""
    assert user.id is not None
    if not await sessions.end(session, user.id, session_id):
        raise NotFound("Session not found")
