"""Votes: one per user and post, and taking it back."""

from fastapi import APIRouter, Response, status

from app.api.deps import CallerCheckedInStatement, SessionDep
from app.api.responses import error_responses
from app.models import Message, VoteCreate
from app.services import votes

router = APIRouter(prefix="/vote", tags=["votes"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Vote for a post, or take your vote back",
    response_description="Vote added (dir 1)",
    responses={
        201: {"content": {"application/json": {"example": {"message": "Successfully added vote"}}}},
        200: {
            "model": Message,
            "description": "Vote taken back (dir 0)",
            "content": {"application/json": {"example": {"message": "Successfully deleted vote"}}},
        },
        **error_responses(
            400,
            401,
            404,
            409,
            413,
            503,
            _404="No such post (or another user's draft), or no vote of yours to take back",
            detail_404=["Post not found", "Vote does not exist"],
            _409="You have already voted for this post",
            detail_409="User 1 has already voted on post 42",
        ),
    },
)
async def vote(
    session: SessionDep, viewer: CallerCheckedInStatement, data: VoteCreate, response: Response
) -> Message:
    """`dir: 1` adds your vote for the post (201; once per post), `dir: 0` takes it back (200).
    Every post shows how many users voted for it (`votes`) and whether you did (`voted`)."""
    if data.dir == 1:
        await votes.add_vote(session, viewer, data.post_id)
        return Message(message="Successfully added vote")
    await votes.remove_vote(session, viewer, data.post_id)
    response.status_code = status.HTTP_200_OK
    return Message(message="Successfully deleted vote")
