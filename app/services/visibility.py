"""Who sees which row (API.md): drafts, disabled accounts, admins, as named SQL pieces.

Every statement that shows, counts or writes posts and comments composes these; none spells a
rule of its own. The caller is the bound parameter `viewer_id` (`token_params`, in
app/services/sessions.py, gives it with the session's).

- A post is visible when it is published or the caller's own draft (drafts stay private, to
  admins too), and its owner's account is shown.
- An account is shown unless it is disabled: a disabled account's posts and comments are
  shown to admins only.
- A comment is visible when its post is, and its author's account is shown.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Exists,
    FromClause,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    func,
    or_,
)
from sqlalchemy import select as sql_select

from app.models import Comment, Post, User, table_of

VIEWER = bindparam("viewer_id", type_=Integer)
# The post, the comment a request names.
POST_ID = bindparam("post_id", type_=Integer)
COMMENT_ID = bindparam("comment_id", type_=Integer)
# What a caller who may not see a row is told: the same as if it did not exist.
POST_NOT_FOUND = "Post not found"
COMMENT_NOT_FOUND = "Comment not found"

POSTS = table_of(Post)
COMMENTS = table_of(Comment)
_USERS = table_of(User)

_CALLER = _USERS.alias("caller")
CALLER_IS_ADMIN = exists().where(_CALLER.c.id == VIEWER, _CALLER.c.is_admin)
_DISABLED = sql_select(_USERS.c.id).where(_USERS.c.disabled)  # few: a partial index serves it


def shown_account(user_id: Any, disabled: Any = None) -> ColumnElement[bool]:
    """Account `user_id`'s posts and comments are shown to the caller. `disabled`: the
    account's flag, where the statement joins the account anyway (no subquery then)."""
    shown = user_id.not_in(_DISABLED) if disabled is None else ~disabled
    return or_(shown, CALLER_IS_ADMIN)


def visible_post(posts: FromClause = POSTS, *, owner_disabled: Any = None) -> ColumnElement[bool]:
    """A row of `posts` is a post the caller may see."""
    return and_(
        or_(posts.c.published, posts.c.owner_id == VIEWER),
        shown_account(posts.c.owner_id, disabled=owner_disabled),
    )


# A comment's post, apart from any `posts` the enclosing statement has (no mix-up in correlation).
_COMMENTED = POSTS.alias("commented")


def visible_comment(comments: FromClause = COMMENTS) -> ColumnElement[bool]:
    """A row of `comments` is a comment the caller may see."""
    return and_(
        shown_account(comments.c.author_id),
        exists().where(_COMMENTED.c.id == comments.c.post_id, visible_post(_COMMENTED)),
    )


@dataclass(frozen=True)
class Target:
    """The row a request names, when the caller may see it (`row`: its id); when they may not,
    they are told `not_found` (404), as if it did not exist."""

    row: Select[Any]
    not_found: str

    @property
    def exists(self) -> Exists:
        return self.row.exists()


THE_POST = Target(
    sql_select(POSTS.c.id).where(POSTS.c.id == POST_ID, visible_post()), POST_NOT_FOUND
)
THE_COMMENT = Target(
    sql_select(COMMENTS.c.id).where(COMMENTS.c.id == COMMENT_ID, visible_comment()),
    COMMENT_NOT_FOUND,
)


def comments_shown(post_id: Any) -> Any:
    """How many comments of post `post_id` (one the caller sees) the caller sees: a scalar."""
    return (
        sql_select(func.count())
        .select_from(COMMENTS)
        .where(COMMENTS.c.post_id == post_id, shown_account(COMMENTS.c.author_id))
        .scalar_subquery()
    )
