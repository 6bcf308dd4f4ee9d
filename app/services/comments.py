"""Comments on the posts a caller sees (app/services/visibility.py): listed oldest first,
written by anyone who sees the post, deleted by their author, the post's owner or an admin."""

from sqlalchemy import bindparam, exists, insert, or_
from sqlmodel import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Forbidden, NotFound
from app.core.security import TokenClaims
from app.db.reads import Query
from app.db.rows import Shape, columns_for, labelled, looked_up
from app.db.sql import paged
from app.models import CommentCreate, CommentPublic, User, UserPublic, table_of, utcnow
from app.services.sessions import token_params
from app.services.visibility import (
    CALLER_IS_ADMIN,
    COMMENT_ID,
    COMMENTS,
    POST_ID,
    POSTS,
    THE_COMMENT,
    THE_POST,
    VIEWER,
    shown_account,
    visible_comment,
)
from app.services.writes import write_or_explain

_AUTHOR = table_of(User).alias("author")
_COLUMNS = columns_for(CommentPublic, COMMENTS, author=columns_for(UserPublic, _AUTHOR))

# A page of the post's comments, oldest first, behind the post itself: no row at all when the
# caller may not see the post (404), no comment rows when it has none.
_LIST = Query(
    CommentPublic,
    paged(
        select(*labelled(_COLUMNS))
        .join(_AUTHOR, _AUTHOR.c.id == COMMENTS.c.author_id)
        .where(COMMENTS.c.post_id == POST_ID, shown_account(_AUTHOR.c.id, _AUTHOR.c.disabled))
    ),
    gate=THE_POST.row,
    order_by=("created_at", "id"),
)


async def list_comments(
    caller: TokenClaims, post_id: int, *, limit: int, skip: int
) -> list[CommentPublic]:
    params = {**token_params(caller), "post_id": post_id, "limit": limit, "skip": skip}
    return await _LIST.behind_gate(params, closed=NotFound(THE_POST.not_found))


# The caller's comment, on a post they see, returned with its author: the caller.
_BODY = bindparam("body", type_=COMMENTS.c.body.type)
_NOW = bindparam("now", type_=COMMENTS.c.created_at.type)
_CREATE = (
    insert(COMMENTS)
    .from_select(
        ["post_id", "author_id", "body", "created_at"],
        select(POST_ID, VIEWER, _BODY, _NOW).where(THE_POST.exists),
    )
    .returning(*labelled({**_COLUMNS, "author": looked_up(UserPublic, _AUTHOR, VIEWER)}))
)
_CREATED = Shape(CommentPublic, _CREATE)


async def create_comment(
    session: AsyncSession, caller: TokenClaims, post_id: int, data: CommentCreate
) -> CommentPublic:
    params = {**token_params(caller), "post_id": post_id, "body": data.body, "now": utcnow()}
    return _CREATED(await write_or_explain(session, _CREATE, params, target=THE_POST))


# A comment the caller sees, and may delete: theirs, on their post, or any for an admin.
NOT_ALLOWED = "Not allowed to delete this comment"
_DELETE = (
    delete(COMMENTS)
    .where(
        COMMENTS.c.id == COMMENT_ID,
        visible_comment(),
        or_(
            COMMENTS.c.author_id == VIEWER,
            exists().where(POSTS.c.id == COMMENTS.c.post_id, POSTS.c.owner_id == VIEWER),
            CALLER_IS_ADMIN,
        ),
    )
    .returning(COMMENTS.c.id)
)


async def delete_comment(session: AsyncSession, caller: TokenClaims, comment_id: int) -> None:
    params = {**token_params(caller), "comment_id": comment_id}
    await write_or_explain(
        session, _DELETE, params, target=THE_COMMENT, refused=Forbidden(NOT_ALLOWED)
    )
