"""Dependencies that validate against the database, and shared parameter types."""

from typing import Annotated

from fastapi import Depends, Path, Query
from fastapi.security import OAuth2PasswordBearer
from pydantic import AfterValidator

from app.db import SessionDep
from app.errors import Forbidden, Unauthorized
from app.models import MAX_ID, Post, User, ensure_storable
from app.security import TokenClaims, decode_access_token
from app.services import posts
from app.services.users import find_user

# tokenUrl makes Swagger's Authorize button log in through POST /login.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="login")


Token = Annotated[str, Depends(oauth2_scheme)]


async def get_token_claims(token: Token) -> TokenClaims:
    """A well-formed, genuine, unexpired token's claims (401 otherwise). Whether its user still
    exists and has not revoked it is for the database to say: see `get_current_user`."""
    claims = decode_access_token(token)
    if claims is None:
        raise Unauthorized()
    return claims


# For the read-only feed and post endpoints: their one SQL statement checks the token against
# the user's row too (app/services/posts.py), saving a database round trip per request.
Viewer = Annotated[TokenClaims, Depends(get_token_claims)]


async def get_current_user(session: SessionDep, claims: Viewer) -> User:
    """The caller, loaded in the request's session: for the endpoints that change data."""
    user = await find_user(session, claims.user_id)
    if user is None or not claims.still_valid(user.tokens_valid_after):
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
