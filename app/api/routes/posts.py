"""Posts: the feed, single posts, creating, changing and deleting them."""

from typing import Annotated

from fastapi import APIRouter, Body, status
from starlette.convertors import StringConvertor, register_url_convertor

from app.api.deps import (
    CurrentUser,
    DeletablePost,
    Limit,
    OwnedPost,
    PostId,
    Search,
    SessionDep,
    Skip,
    Viewer,
)
from app.api.responses import error_responses
from app.models import PostCreate, PostPublic, PostUpdate
from app.services import posts

router = APIRouter(prefix="/posts", tags=["posts"], responses=error_responses(401, 503))


class PostSegment(StringConvertor):
    """Any path segment but `batch`: PUT /posts/batch is a method /posts/batch does not have
    (405), not an update of a post whose id does not parse (422)."""

    regex = "(?!batch$)[^/]+"


register_url_convertor("post_segment", PostSegment())
POST_PATH = "/{post_id:post_segment}"  # documented as /posts/{post_id}

NOT_FOUND = error_responses(404, _404="Post not found (or another user's draft)")
OWNER_ONLY = {**NOT_FOUND, **error_responses(403)}
WITH_BODY = error_responses(400, 413)


@router.get("")
async def list_posts(
    viewer: Viewer,
    limit: Limit = 10,
    skip: Skip = 0,
    search: Search = None,
) -> list[PostPublic]:
    """Published posts and the caller's drafts, newest first."""
    return await posts.list_posts(viewer, limit=limit, skip=skip, search=search)


@router.post("", status_code=status.HTTP_201_CREATED, responses=WITH_BODY)
async def create_post(session: SessionDep, user: CurrentUser, data: PostCreate) -> PostPublic:
    return await posts.create_post(session, user, data)


@router.post("/batch", status_code=status.HTTP_201_CREATED, responses=WITH_BODY)
async def create_posts(
    session: SessionDep,
    user: CurrentUser,
    items: Annotated[list[PostCreate], Body(min_length=1, max_length=100)],
) -> list[PostPublic]:
    """Create 1 to 100 posts at once: all of them or none, in request order."""
    return await posts.create_posts(session, user, items)


@router.get(POST_PATH, responses=NOT_FOUND)
async def read_post(viewer: Viewer, post_id: PostId) -> PostPublic:
    return await posts.get_post(viewer, post_id)


@router.put(POST_PATH, responses={**OWNER_ONLY, **WITH_BODY})
async def replace_post(session: SessionDep, post: OwnedPost, data: PostCreate) -> PostPublic:
    """Full replace: `published` left out means true."""
    return await posts.replace_post(session, post, data)


@router.patch(POST_PATH, responses={**OWNER_ONLY, **WITH_BODY})
async def patch_post(session: SessionDep, post: OwnedPost, data: PostUpdate) -> PostPublic:
    """Partial update: fields left out keep their values."""
    return await posts.patch_post(session, post, data)


@router.delete(POST_PATH, status_code=status.HTTP_204_NO_CONTENT, responses=OWNER_ONLY)
async def delete_post(session: SessionDep, post: DeletablePost) -> None:
    """Delete the post, with its votes: its owner, or an admin (any post, drafts included)."""
    await posts.delete_post(session, post)
