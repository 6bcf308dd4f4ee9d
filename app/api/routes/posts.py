"""Posts: the feed, single posts, creating, changing and deleting them."""

from typing import Annotated

from fastapi import APIRouter, Body, status
from starlette.convertors import StringConvertor, register_url_convertor

from app.api.deps import (
    CallerCheckedInStatement,
    Limit,
    PostId,
    Search,
    SessionDep,
    Skip,
)
from app.api.responses import NO_SUCH_POST, error_responses
from app.models import PostCreate, PostPublic, PostUpdate
from app.services import posts

router = APIRouter(prefix="/posts", tags=["posts"], responses=error_responses(401, 503))


class PostSegment(StringConvertor):
    """Any path segment but `batch`: PUT /posts/batch is a method /posts/batch does not have
    (405), not an update of a post whose id does not parse (422)."""

    regex = "(?!batch$)[^/]+"


register_url_convertor("post_segment", PostSegment())
POST_PATH = "/{post_id:post_segment}"  # documented as /posts/{post_id}

OWNER_ONLY = {**NO_SUCH_POST, **error_responses(403, _403="Not the owner of the post")}
WITH_BODY = error_responses(400, 413)


@router.get(
    "",
    summary="The feed",
    response_description="A page of posts, newest first",
)
async def list_posts(
    viewer: CallerCheckedInStatement,
    limit: Limit = 10,
    skip: Skip = 0,
    search: Search = None,
) -> list[PostPublic]:
    """Published posts and your own drafts, newest first (`created_at`, then `id`), `limit` at
    a time from `skip`; `search` keeps the posts whose title contains it (case-insensitive,
    taken literally: `%` and `_` are plain characters)."""
    return await posts.list_posts(viewer, limit=limit, skip=skip, search=search)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Write a post",
    response_description="The new post, with no votes yet",
    responses=WITH_BODY,
)
async def create_post(
    session: SessionDep, viewer: CallerCheckedInStatement, data: PostCreate
) -> PostPublic:
    """A title (1 to 200 characters, at least one of them visible), the content (1 to 10,000
    characters) and `published` (default true; false keeps it a draft only you can see)."""
    return await posts.create_post(session, viewer, data)


@router.post(
    "/batch",
    status_code=status.HTTP_201_CREATED,
    summary="Write several posts at once",
    response_description="The new posts, in request order",
    responses=WITH_BODY,
)
async def create_posts(
    session: SessionDep,
    viewer: CallerCheckedInStatement,
    items: Annotated[list[PostCreate], Body(min_length=1, max_length=100)],
) -> list[PostPublic]:
    """Create 1 to 100 posts at once: all of them or none (one invalid item: 422, nothing is
    created), in request order."""
    return await posts.create_posts(session, viewer, items)


@router.get(
    POST_PATH,
    summary="Read a post",
    response_description="The post, with its owner and votes",
    responses=NO_SUCH_POST,
)
async def read_post(viewer: CallerCheckedInStatement, post_id: PostId) -> PostPublic:
    """A published post, or a draft of yours; another user's draft is 404, as if it did not
    exist."""
    return await posts.get_post(viewer, post_id)


@router.put(
    POST_PATH,
    summary="Replace your post",
    response_description="The post as it is now",
    responses={**OWNER_ONLY, **WITH_BODY},
)
async def replace_post(
    session: SessionDep, viewer: CallerCheckedInStatement, post_id: PostId, data: PostCreate
) -> PostPublic:
    """Full replace of a post of yours: title and content are required, `published` left out
    means true."""
    return await posts.replace_post(session, viewer, post_id, data)


@router.patch(
    POST_PATH,
    summary="Change your post",
    response_description="The post as it is now",
    responses={**OWNER_ONLY, **WITH_BODY},
)
async def patch_post(
    session: SessionDep, viewer: CallerCheckedInStatement, post_id: PostId, data: PostUpdate
) -> PostPublic:
    """Partial update of a post of yours: fields left out keep their values (null is refused)."""
    return await posts.patch_post(session, viewer, post_id, data)


@router.delete(
    POST_PATH,
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a post",
    response_description="Post deleted, with its votes and comments",
    responses={
        **NO_SUCH_POST,
        **error_responses(403, _403="Neither the owner of the post nor an admin"),
    },
)
async def delete_post(
    session: SessionDep, viewer: CallerCheckedInStatement, post_id: PostId
) -> None:
    """Delete the post, with its votes and comments: its owner, or an admin (any post, drafts
    included)."""
    await posts.delete_post(session, viewer, post_id)
