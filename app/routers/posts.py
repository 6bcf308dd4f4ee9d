from typing import Annotated

from fastapi import APIRouter, Body, status

from app.db import SessionDep
from app.deps import CurrentUser, Limit, OwnedPost, PostId, Search, Skip
from app.errors import error_responses
from app.models import PostCreate, PostPublic, PostUpdate
from app.services import posts

router = APIRouter(prefix="/posts", tags=["posts"], responses=error_responses(401, 503))

NOT_FOUND = error_responses(404, _404="Post not found (or another user's draft)")
OWNER_ONLY = {**NOT_FOUND, **error_responses(403)}
WITH_BODY = error_responses(413)


@router.get("")
async def list_posts(
    session: SessionDep,
    user: CurrentUser,
    limit: Limit = 10,
    skip: Skip = 0,
    search: Search = None,
) -> list[PostPublic]:
    """Published posts and the caller's drafts, newest first."""
    assert user.id is not None
    return await posts.list_posts(session, user.id, limit=limit, skip=skip, search=search)


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


@router.get("/{post_id}", responses=NOT_FOUND)
async def read_post(session: SessionDep, user: CurrentUser, post_id: PostId) -> PostPublic:
    assert user.id is not None
    return await posts.get_post(session, user.id, post_id)


@router.put("/{post_id}", responses={**OWNER_ONLY, **WITH_BODY})
async def replace_post(session: SessionDep, post: OwnedPost, data: PostCreate) -> PostPublic:
    """Full replace: `published` left out means true."""
    return await posts.replace_post(session, post, data)


@router.patch("/{post_id}", responses={**OWNER_ONLY, **WITH_BODY})
async def patch_post(session: SessionDep, post: OwnedPost, data: PostUpdate) -> PostPublic:
    """Partial update: fields left out keep their values."""
    return await posts.patch_post(session, post, data)


@router.delete("/{post_id}", status_code=status.HTTP_204_NO_CONTENT, responses=OWNER_ONLY)
async def delete_post(session: SessionDep, post: OwnedPost) -> None:
    """Delete the post, with its votes."""
    await posts.delete_post(session, post)
