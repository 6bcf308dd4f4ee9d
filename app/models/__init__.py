"""One SQLModel family per entity (table model, Create, Update, Public) and the rules they share.

Everything is re-exported here: `from app.models import Post, User`. Importing this package
registers every table on `SQLModel.metadata` (Alembic's autogenerate relies on it).
"""

from app.models.auth import LoginForm, Token
from app.models.common import MAX_ID, APIModel, Message, ensure_storable, utcnow
from app.models.posts import NOT_BLANK_PATTERN, Post, PostCreate, PostPublic, PostUpdate
from app.models.users import MAX_PASSWORD_BYTES, User, UserCreate, UserMe, UserPublic, UserUpdate
from app.models.votes import Vote, VoteCreate

__all__ = [
    "MAX_ID",
    "MAX_PASSWORD_BYTES",
    "NOT_BLANK_PATTERN",
    "APIModel",
    "LoginForm",
    "Message",
    "Post",
    "PostCreate",
    "PostPublic",
    "PostUpdate",
    "Token",
    "User",
    "UserCreate",
    "UserMe",
    "UserPublic",
    "UserUpdate",
    "Vote",
    "VoteCreate",
    "ensure_storable",
    "utcnow",
]
