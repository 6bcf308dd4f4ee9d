"""Logging in (the OAuth2 password flow) and logging out everywhere."""

from typing import Annotated

from fastapi import APIRouter, Form, status

from app.api.deps import CurrentUser, LoginLimits, SessionDep
from app.api.responses import error_responses
from app.core.errors import Unauthorized
from app.core.security import create_access_token
from app.models import LoginForm, Token, email_key
from app.services import users

router = APIRouter(tags=["auth"])


@router.post(
    "/login",
    responses=error_responses(400, 401, 413, 429, 503, _401="Incorrect email or password"),
)
async def login(
    session: SessionDep, form: Annotated[LoginForm, Form()], limits: LoginLimits
) -> Token:
    """OAuth2 password flow: `username` is the email."""
    account = email_key(form.username)  # the same account however the address is spelled
    # Before bcrypt; while the account's bucket is empty, even the right password gets 429.
    await limits.take_login_attempt(account)
    user = await users.authenticate(session, form.username, form.password)
    if user is None or user.id is None:
        raise Unauthorized("Incorrect email or password")
    await limits.login_succeeded(account)  # only failures count
    return Token(access_token=create_access_token(user.id))


@router.post(
    "/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 503)
)
async def logout_all(session: SessionDep, user: CurrentUser) -> None:
    """Log out everywhere: every token issued before now stops working (401)."""
    await users.log_out_everywhere(session, user)
