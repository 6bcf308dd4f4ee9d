"""Admins: accounts (list, look at, disable, make admin, delete). Admins delete any post through
DELETE /posts/{id}."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import Admin, SearchText, SessionDep, UserId
from app.api.responses import error_responses
from app.models import MAX_ID, UserAdmin, UserAdminUpdate
from app.services import admin
from app.services.users import LAST_ADMIN

router = APIRouter(
    prefix="/admin/users",
    tags=["admin"],
    responses=error_responses(
        401, 403, 503, _403="The token's owner is not an admin", detail_403="Admins only"
    ),
)

NOT_FOUND = error_responses(404, _404="No such user", detail_404="User not found")
PageSize = Annotated[int, Query(ge=1, le=100, description="Page size")]
Skip = Annotated[int, Query(ge=0, le=MAX_ID, description="Accounts to skip")]
Search = Annotated[
    SearchText | None,
    Query(
        max_length=200,
        description="Case-insensitive literal substring of the e-mail address or the name",
    ),
]


@router.get(
    "",
    summary="List accounts (admins)",
    response_description="A page of accounts, newest first",
)
async def list_users(
    session: SessionDep, _: Admin, limit: PageSize = 50, skip: Skip = 0, search: Search = None
) -> list[UserAdmin]:
    """Accounts, newest first; `search` is a case-insensitive literal substring of the e-mail
    address or the name."""
    return await admin.list_users(session, limit=limit, skip=skip, search=search)


@router.get(
    "/{user_id}",
    summary="An account (admins)",
    response_description="The account, with its state and its number of posts",
    responses=NOT_FOUND,
)
async def read_user(session: SessionDep, _: Admin, user_id: UserId) -> UserAdmin:
    """Everything an admin sees of an account: its e-mail address, whether it is disabled or
    an admin, and how many posts it has (drafts included)."""
    return await admin.get_user(session, user_id)


@router.patch(
    "/{user_id}",
    summary="Disable, enable, promote or demote an account (admins)",
    response_description="The account as it is now",
    responses={
        **NOT_FOUND,
        **error_responses(
            400,
            409,
            413,
            _409="An admin's change to their own account, or to the last enabled admin",
            detail_409=["Admins cannot disable or demote themselves", LAST_ADMIN],
        ),
    },
)
async def update_user(
    session: SessionDep, me: Admin, user_id: UserId, data: UserAdminUpdate
) -> UserAdmin:
    """Disable or enable an account, make or unmake an admin. Disabling ends every session of
    the account at once; its posts are hidden from everyone but admins until it is enabled.
    At least one enabled admin always remains (409)."""
    return await admin.update_user(session, me, user_id, data)


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an account (admins)",
    response_description="Account deleted, with its posts, votes and sessions",
    responses={
        **NOT_FOUND,
        **error_responses(
            409,
            _409="An admin's own account (they use DELETE /users/me), or the last enabled admin",
            detail_409=["Admins cannot delete themselves here", LAST_ADMIN],
        ),
    },
)
async def delete_user(session: SessionDep, me: Admin, user_id: UserId) -> None:
    """Delete an account, with its posts, votes and sessions; not the last enabled admin
    (409)."""
    await admin.delete_user(session, me, user_id)
