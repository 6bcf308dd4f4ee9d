"""Dependencies the routers share: the session, the caller, the post they may see or change,
the rate limits, and the types of path and query parameters."""

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import AfterValidator
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Forbidden, Unauthorized
from app.core.security import TokenClaims, decode_access_token
from app.db.engine import get_session
from app.models import MAX_ID, Post, User, ensure_storable
from app.ratelimit.limits import RateLimits
from app.services import posts
from app.services.users import find_user

SessionDep = Annotated[AsyncSession, Depends(get_session)]

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


def client_address(request: Request) -> str:
    """The peer as uvicorn reports it: the proxy's X-Forwarded-For only from trusted proxies
    (FORWARDED_ALLOW_IPS, see app/cli/serve.py)."""
    return request.client.host if request.client else "unknown"


def rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


async def _login_address_limit(request: Request) -> RateLimits:
    limits = rate_limits(request)
    await limits.check_login_address(client_address(request))
    return limits


async def limit_registration(request: Request) -> None:
    await rate_limits(request).check_register_address(client_address(request))


# For POST /login: the address is charged when the route starts (before the form is even
# validated); the route then takes the account's token itself, before bcrypt.
LoginLimits = Annotated[RateLimits, Depends(_login_address_limit)]
