"""Comments: a post's comments, commenting, and deleting a comment."""

from fastapi import APIRouter, status

from app.api.deps import Caller, Commenter, CommentId, Limit, PostId, SessionDep, Skip
from app.api.responses import NO_SUCH_POST, error_responses
from app.models import CommentCreate, CommentPublic
from app.services import comments
from app.services.visibility import COMMENT_NOT_FOUND

# A route's own 404 (a comment's) takes the place of the router's (a post's).
router = APIRouter(tags=["comments"], responses={**error_responses(401, 503), **NO_SUCH_POST})


@router.get(
    "/posts/{post_id}/comments",
    summary="A post's comments",
    response_description="A page of the post's comments, oldest first",
)
async def list_comments(
    caller: Caller, post_id: PostId, limit: Limit = 20, skip: Skip = 0
) -> list[CommentPublic]:
    """The comments of a post you can see, oldest first, `limit` at a time from `skip`."""
    return await comments.list_comments(caller, post_id, limit=limit, skip=skip)


@router.post(
    "/posts/{post_id}/comments",
    status_code=status.HTTP_201_CREATED,
    summary="Comment on a post",
    response_description="The new comment",
    responses=error_responses(400, 413, 429),
)
async def create_comment(
    session: SessionDep, caller: Commenter, post_id: PostId, data: CommentCreate
) -> CommentPublic:
    """A comment (1 to 2,000 characters, at least one of them visible) on a post you can see."""
    return await comments.create_comment(session, caller, post_id, data)


@router.delete(
    "/comments/{comment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a comment",
    response_description="Comment deleted",
    responses=error_responses(
        403, 404, detail_403=comments.NOT_ALLOWED, detail_404=COMMENT_NOT_FOUND
    ),
)
async def delete_comment(session: SessionDep, caller: Caller, comment_id: CommentId) -> None:
    """Delete a comment: its author, the post's owner, or an admin."""
    await comments.delete_comment(session, caller, comment_id)
