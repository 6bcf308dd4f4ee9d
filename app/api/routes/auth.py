"""Logging in (the OAuth2 password flow), refreshing tokens, logging out."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, status

from app.api.deps import (
    CallerCheckedInStatement,
    CurrentUser,
    LoginLimits,
    RefreshLimit,
    SessionDep,
    client_address,
)
from app.api.responses import error_responses
from app.core.errors import Forbidden, Unauthorized
from app.models import LoginForm, RefreshRequest, TokenPair, email_key
from app.services import sessions, users

router = APIRouter(tags=["auth"])

INCORRECT = "Incorrect email or password"


@router.post(
    "/login",
    summary="Log in (OAuth2 password flow)",
    response_description="A token pair: the access token and the refresh token of a new session",
    responses=error_responses(
        400,
        401,
        403,
        413,
        429,
        503,
        _401="Unknown e-mail address or wrong password (the same answer for both)",
        detail_401=INCORRECT,
        _403="The password is right but the account is disabled",
        detail_403="Account disabled",
    ),
)
async def login(
    request: Request,
    form: Annotated[LoginForm, Form()],
    limits: LoginLimits,
) -> TokenPair:
    """The OAuth2 password flow: a form whose `username` is your **e-mail address**, and your
    password. Starts a session (this device) and answers with its token pair; send the access
    token as `Authorization: Bearer <token>`. Swagger's **Authorize** button logs in here."""
    account = email_key(form.username)  # the same account however the address is spelled
    # Before bcrypt; while the account's bucket is empty, even the right password gets 429.
    await limits.take(limits.login_account, account)
    user = await users.authenticate(account, form.password)
    if user is None:
        raise Unauthorized(INCORRECT)
    await limits.give_back(limits.login_account, account)  # only failures count
    if user.disabled:  # told only to whoever knows the password
        raise Forbidden("Account disabled")
    pair = await sessions.start(
        user.id,
        user.auth_epoch,
        user_agent=request.headers.get("user-agent"),
        client=client_address(request),
    )
    if pair is None:  # the password changed (or the account was disabled) during the check
        raise Unauthorized(INCORRECT)
    return pair


@router.post(
    "/token/refresh",
    summary="Refresh the tokens",
    response_description="A new token pair for the same session",
    responses=error_responses(
        400,
        401,
        413,
        429,
        503,
        _401="Unknown, expired or used-up refresh token, or the session has ended",
        detail_401="Invalid refresh token",
    ),
    dependencies=[RefreshLimit],
)
async def refresh_token(session: SessionDep, data: RefreshRequest) -> TokenPair:
    """A new access token and a new refresh token for the session; the refresh token sent is
    used up. A used-up refresh token presented again ends the whole session (it was copied)."""
    return await sessions.refresh(session, data.refresh_token)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Log out (this session)",
    response_description="Logged out: this session's tokens no longer work",
    responses=error_responses(401, 503),
)
async def logout(session: SessionDep, claims: CallerCheckedInStatement) -> None:
    """End the session of the token that asks: its access and refresh tokens stop working at
    once. Other devices stay logged in (see `POST /logout-all`)."""
    # One statement: deleting nothing means the token's session had ended already (401).
    if not await sessions.end(session, claims.user_id, claims.session_id):
        raise Unauthorized()


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Log out everywhere",
    response_description="Every session ended",
    responses=error_responses(401, 503),
)
async def logout_all(session: SessionDep, user: CurrentUser) -> None:
    """Every session of the account ends, and every token issued before this moment stops
    working (401). A login right after it works, even within the same second."""
    await users.log_out_everywhere(session, user)
