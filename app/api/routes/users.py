"""Users: signing up, one's own account, and others' public profiles."""

from fastapi import APIRouter, status

from app.api.deps import CurrentUser, RegisterLimit, SessionDep, UserId
from app.api.responses import error_responses
from app.core.errors import Unauthorized
from app.models import UserCreate, UserMe, UserPublic, UserUpdate
from app.services import users

router = APIRouter(prefix="/users", tags=["users"], responses=error_responses(503))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 409, 413, 429, _409="Email already registered"),
    dependencies=[RegisterLimit],  # per address, before bcrypt
)
async def register(session: SessionDep, data: UserCreate) -> UserMe:
    return UserMe.model_validate(await users.register(session, data))


@router.get("/me", responses=error_responses(401))
async def read_me(user: CurrentUser) -> UserMe:
    return UserMe.model_validate(user)


@router.patch(
    "/me",
    responses=error_responses(
        400, 401, 403, 409, 413, _403="Wrong current password", _409="Email already registered"
    ),
)
async def update_me(session: SessionDep, user: CurrentUser, data: UserUpdate) -> UserMe:
    return UserMe.model_validate(await users.update_me(session, user, data))


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401))
async def delete_me(session: SessionDep, user: CurrentUser) -> None:
    """Delete the account, with its posts, votes and sessions."""
    assert user.id is not None
    if not await users.delete_user(session, user.id):
        raise Unauthorized()  # deleted by a concurrent request: the account is gone


@router.get("/{user_id}", responses=error_responses(401, 404, _404="User not found"))
async def read_user(session: SessionDep, _: CurrentUser, user_id: UserId) -> UserPublic:
    return UserPublic.model_validate(await users.get_user(session, user_id))
