"""Votes: one per user and post, and taking it back."""

from fastapi import APIRouter, Response, status

from app.api.deps import CurrentUser, SessionDep
from app.api.responses import error_responses
from app.models import Message, VoteCreate
from app.services import votes

router = APIRouter(prefix="/vote", tags=["votes"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": Message, "description": "Vote deleted (dir 0)"},
        **error_responses(
            400,
            401,
            404,
            409,
            413,
            503,
            _404="Post not found, or no vote to delete",
            _409="Already voted",
        ),
    },
)
async def vote(
    session: SessionDep, user: CurrentUser, data: VoteCreate, response: Response
) -> Message:
    """`dir` 1 adds the caller's vote (201); `dir` 0 takes it back (200)."""
    if data.dir == 1:
        await votes.add_vote(session, user, data.post_id)
        return Message(message="Successfully added vote")
    await votes.remove_vote(session, user, data.post_id)
    response.status_code = status.HTTP_200_OK
    return Message(message="Successfully deleted vote")
