"""Users: signing up, one's own account, and others' public profiles."""

from fastapi import APIRouter, Request, status

from app.api.deps import (
    CallerCheckedInStatement,
    CurrentUser,
    RegisterLimit,
    SessionDep,
    UserId,
    client_address,
    rate_limits,
)
from app.api.responses import error_responses
from app.core.errors import Unauthorized
from app.models import UserCreate, UserMe, UserPublic, UserUpdate
from app.services import users
from app.services.users import LAST_ADMIN

router = APIRouter(prefix="/users", tags=["users"], responses=error_responses(503))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Sign up",
    response_description="The new account (log in with its e-mail and password)",
    responses=error_responses(
        400,
        409,
        413,
        429,
        _409="An account already has this e-mail address (in any spelling)",
        detail_409="Email already registered",
    ),
    dependencies=[RegisterLimit],  # per address, before bcrypt
)
async def register(session: SessionDep, data: UserCreate) -> UserMe:
    """Create an account: an e-mail address (one account per address, whatever its case), a
    password of 8 characters to 72 bytes in UTF-8, and an optional display name. Then log in
    with `POST /login` (or Swagger's **Authorize** button)."""
    return UserMe.model_validate(await users.register(session, data))


@router.get(
    "/me",
    summary="Your account",
    response_description="Your account, e-mail address included",
    responses=error_responses(401),
)
async def read_me(user: CurrentUser) -> UserMe:
    """The account of the token's owner: what only you see (your e-mail address, whether you
    are an admin) beside your public profile."""
    return UserMe.model_validate(user)


@router.patch(
    "/me",
    summary="Change your account",
    response_description="Your account as it is now",
    responses=error_responses(
        400,
        401,
        403,
        409,
        413,
        429,
        _401="Missing, malformed, expired or revoked token, or the session ended (a password "
        "reset, logout-all) while the change was under way",
        _403="Wrong current password",
        detail_403="Current password is incorrect",
        _409="Another account has this e-mail address",
        detail_409="Email already registered",
        _429="Too many wrong current passwords for this account or from this address "
        "(Retry-After, in seconds)",
    ),
)
async def update_me(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    claims: CallerCheckedInStatement,
    data: UserUpdate,
) -> UserMe:
    """Change your name, e-mail address or password; fields left out keep their values.
    Changing the e-mail address or the password needs `current_password`; wrong ones are rate
    limited like logins. A new password ends every session: log in again. A new address
    retires the reset links mailed to the old one."""
    assert user.id is not None
    checks = rate_limits(request).password_checks(str(user.id), client_address(request))
    return UserMe.model_validate(await users.update_me(session, user, claims, data, checks))


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete your account",
    response_description="Account deleted",
    responses=error_responses(
        401,
        409,
        _409="You are the last enabled admin: make another account an admin first",
        detail_409=LAST_ADMIN,
    ),
)
async def delete_me(session: SessionDep, user: CurrentUser) -> None:
    """Delete your account, with its posts, votes and sessions. There is no undo. The last
    enabled admin cannot leave (409) before making another account an admin."""
    assert user.id is not None
    if not await users.delete_user(session, user.id):
        raise Unauthorized()  # deleted by a concurrent request: the account is gone


@router.get(
    "/{user_id}",
    summary="A user's public profile",
    response_description="The user's public profile (no e-mail address)",
    responses=error_responses(401, 404, _404="No such user", detail_404="User not found"),
)
async def read_user(session: SessionDep, _: CurrentUser, user_id: UserId) -> UserPublic:
    """What everyone may see of a user: id, name and when they signed up. E-mail addresses
    are private."""
    return UserPublic.model_validate(await users.get_user(session, user_id))
