"""Dependencies the routers share: the session, the caller (its session checked), the rate
limits, and the types of path and query parameters."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import AfterValidator
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Forbidden, Unauthorized
from app.core.security import TokenClaims, decode_access_token
from app.db.engine import get_session
from app.models import MAX_ID, User, ensure_storable
from app.ratelimit.buckets import Limit as BucketLimit
from app.ratelimit.limits import RateLimits
from app.services import sessions

SessionDep = Annotated[AsyncSession, Depends(get_session)]

# tokenUrl makes Swagger's Authorize button log in through POST /login.
oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="login",
    scheme_name="EmailAndPassword",
    description=(
        "Type your **e-mail address** as *username* and your password, then **Authorize**: "
        "Swagger logs in through `POST /login` and sends the access token with every call. "
        "No account yet? Sign up with `POST /users` first."
    ),
)


Token = Annotated[str, Depends(oauth2_scheme)]


async def get_token_claims(token: Token) -> TokenClaims:
    """A well-formed, genuine, unexpired token's claims (401 otherwise), no database yet."""
    claims = decode_access_token(token)
    if claims is None:
        raise Unauthorized()
    return claims


# The opt-in of the hot paths (the feed, single posts, the writes to posts and votes): the
# token's signature and expiry only, because the route's own statement checks that the
# token's session lives (SESSION_ALIVE, or a read behind the caller's session), saving a round
# trip. A route that takes this and does not check is caught by tests/test_fail_closed.py,
# which sends an ended session's token to every route that takes one.
CallerCheckedInStatement = Annotated[TokenClaims, Depends(get_token_claims)]


async def get_caller(claims: CallerCheckedInStatement) -> TokenClaims:
    """The caller's token, once its session is found alive: 401 for a token whose session has
    ended (logout, a password change, the account disabled or deleted, ...)."""
    if not await sessions.is_alive(claims):
        raise Unauthorized()
    return claims


# Every route that takes a token takes one of these (or `CallerCheckedInStatement`, above).
Caller = Annotated[TokenClaims, Depends(get_caller)]


async def get_current_user(session: SessionDep, claims: CallerCheckedInStatement) -> User:
    """The caller's account, loaded in the request's session, if the token's session still
    lives: for the routes that change the account itself."""
    user = await sessions.find_session_user(session, claims)
    if user is None:
        raise Unauthorized()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("Admins only")
    return user


Admin = Annotated[User, Depends(get_admin)]

PostId = Annotated[int, Path(ge=1, le=MAX_ID, description="The post's id")]
CommentId = Annotated[int, Path(ge=1, le=MAX_ID, description="The comment's id")]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="The user's id")]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Skip = Annotated[int, Query(ge=0, le=MAX_ID, description="How many to skip (paging)")]
SearchText = Annotated[str, AfterValidator(ensure_storable)]
Search = Annotated[
    SearchText | None,
    Query(max_length=200, description="Case-insensitive literal substring of the title"),
]


def client_address(request: Request) -> str:
    """The peer as uvicorn reports it: the proxy's X-Forwarded-For only from trusted proxies
    (FORWARDED_ALLOW_IPS, see app/cli/serve.py)."""
    return request.client.host if request.client else "unknown"


def rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


def limit_per_address(limit: Callable[[RateLimits], BucketLimit]) -> Any:
    """A dependency that charges the client's address against one of the API's limits when the
    route starts, before the body is even validated (or bcrypt runs): 429 past it."""

    async def charge(request: Request) -> RateLimits:
        limits = rate_limits(request)
        await limits.take(limit(limits), client_address(request))
        return limits

    return Depends(charge)


def limit_per_account(limit: Callable[[RateLimits], BucketLimit]) -> Any:
    """A dependency: the caller (`Caller`, session checked), charged against one of the API's
    per-account limits: 429 past it."""

    async def charge(request: Request, caller: Caller) -> TokenClaims:
        limits = rate_limits(request)
        await limits.take(limit(limits), f"user:{caller.user_id}")
        return caller

    return Depends(charge)


Commenter = Annotated[TokenClaims, limit_per_account(lambda limits: limits.comment_account)]

# The routes that also limit per account take the account's token themselves, before bcrypt
# (logins) or any e-mail (password resets).
LoginLimits = Annotated[RateLimits, limit_per_address(lambda limits: limits.login_address)]
ResetLimits = Annotated[RateLimits, limit_per_address(lambda limits: limits.reset_address)]
RegisterLimit = limit_per_address(lambda limits: limits.register_address)
RefreshLimit = limit_per_address(lambda limits: limits.refresh_address)
ResetConfirmLimit = limit_per_address(lambda limits: limits.reset_address)
