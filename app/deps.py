"""Dependencies that validate against the database, and shared parameter types."""

from typing import Annotated

from fastapi import Depends, Path, Query
from fastapi.security import OAuth2PasswordBearer
from pydantic import AfterValidator

from app.db import SessionDep
from app.errors import Forbidden, Unauthorized
from app.models import MAX_ID, Post, User, ensure_storable
from app.security import decode_access_token
from app.services import posts
from app.services.users import find_user

# tokenUrl makes Swagger's Authorize button log in through POST /login.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="login")


async def get_current_user(
    session: SessionDep, token: Annotated[str, Depends(oauth2_scheme)]
) -> User:
    claims = decode_access_token(token)
    if claims is None:
        raise Unauthorized()
    user = await find_user(session, claims.user_id)
    # A deleted user, or a token issued before a password change: refused.
    if user is None or claims.issued_at < user.tokens_valid_after.timestamp():
        raise Unauthorized()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

PostId = Annotated[int, Path(ge=1, le=MAX_ID, description="The post's id")]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="The user's id")]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Skip = Annotated[int, Query(ge=0, le=MAX_ID, description="Posts to skip")]
Search = Annotated[
    Annotated[str, AfterValidator(ensure_storable)] | None,
    Query(max_length=200, description="Case-insensitive literal substring of the title"),
]


async def get_visible_post(session: SessionDep, user: CurrentUser, post_id: PostId) -> Post:
    """The post, if the caller may see it: others' drafts do not exist (404)."""
    return await posts.get_visible_post(session, user.id or 0, post_id)


VisiblePost = Annotated[Post, Depends(get_visible_post)]


async def get_owned_post(post: VisiblePost, user: CurrentUser) -> Post:
    if post.owner_id != user.id:
        raise Forbidden()
    return post


OwnedPost = Annotated[Post, Depends(get_owned_post)]
