"""Dependencies the routers share: the session, the caller, the post they may see or change,
the rate limits, and the types of path and query parameters."""

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
    """A well-formed, genuine, unexpired token's claims (401 otherwise). Whether its session
    still lives is for the database to say: see `get_current_user`."""
    claims = decode_access_token(token)
    if claims is None:
        raise Unauthorized()
    return claims


# For the read-only feed and post endpoints: their one SQL statement checks the token against
# the user's row too (app/services/posts.py), saving a database round trip per request.
Viewer = Annotated[TokenClaims, Depends(get_token_claims)]


async def get_current_user(session: SessionDep, claims: Viewer) -> User:
    """The caller, loaded in the request's session, if the token's session still lives: for
    the endpoints that change data."""
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
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="The user's id")]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Skip = Annotated[int, Query(ge=0, le=MAX_ID, description="Posts to skip")]
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


# The routes that also limit per account take the account's token themselves, before bcrypt
# (logins) or any e-mail (password resets).
LoginLimits = Annotated[RateLimits, limit_per_address(lambda limits: limits.login_address)]
ResetLimits = Annotated[RateLimits, limit_per_address(lambda limits: limits.reset_address)]
RegisterLimit = limit_per_address(lambda limits: limits.register_address)
RefreshLimit = limit_per_address(lambda limits: limits.refresh_address)
ResetConfirmLimit = limit_per_address(lambda limits: limits.reset_address)
