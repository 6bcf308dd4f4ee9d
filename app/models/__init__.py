"""One SQLModel family per entity (table model, Create, Update, Public) and the rules they share.

Everything is re-exported here: `from app.models import Post, User`. Importing this package
registers every table on `SQLModel.metadata` (Alembic's autogenerate relies on it).
"""

from app.models.auth import LoginAccount, LoginForm
from app.models.comments import Comment, CommentCreate, CommentPublic
from app.models.common import MAX_ID, APIModel, Message, ensure_storable, table_of, utcnow
from app.models.password_resets import (
    PasswordResetConfirm,
    PasswordResetRequest,
    PasswordResetToken,
)
from app.models.posts import Post, PostCreate, PostPublic, PostUpdate
from app.models.sessions import RefreshRequest, RefreshToken, Session, SessionPublic, TokenPair
from app.models.users import (
    MAX_PASSWORD_BYTES,
    User,
    UserAdmin,
    UserAdminUpdate,
    UserCreate,
    UserMe,
    UserPublic,
    UserUpdate,
    email_key,
)
from app.models.votes import Vote, VoteCreate

__all__ = [
    "MAX_ID",
    "MAX_PASSWORD_BYTES",
    "APIModel",
    "Comment",
    "CommentCreate",
    "CommentPublic",
    "LoginAccount",
    "LoginForm",
    "Message",
    "PasswordResetConfirm",
    "PasswordResetRequest",
    "PasswordResetToken",
    "Post",
    "PostCreate",
    "PostPublic",
    "PostUpdate",
    "RefreshRequest",
    "RefreshToken",
    "Session",
    "SessionPublic",
    "TokenPair",
    "User",
    "UserAdmin",
    "UserAdminUpdate",
    "UserCreate",
    "UserMe",
    "UserPublic",
    "UserUpdate",
    "Vote",
    "VoteCreate",
    "email_key",
    "ensure_storable",
    "table_of",
    "utcnow",
]
