"""Comments on the posts a caller may see: listed oldest first, written by anyone who sees the
post, deleted by their author, the post's owner or an admin. Who sees which comment is
app/services/visibility.py's rule; the routes check the caller's session (`Caller`)."""

from sqlalchemy import Integer, bindparam, exists, insert, literal_column, or_
from sqlalchemy import select as sql_select
from sqlmodel import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Forbidden, NotFound
from app.core.security import TokenClaims
from app.db.reads import Query
from app.db.rows import Shape, columns_for, labelled, looked_up
from app.models import CommentCreate, CommentPublic, User, UserPublic, table_of, utcnow
from app.services.sessions import token_params
from app.services.visibility import (
    CALLER_IS_ADMIN,
    COMMENT_NOT_FOUND,
    COMMENTS,
    POST_NOT_FOUND,
    POSTS,
    VIEWER,
    shown_account,
    visible_comment,
    visible_comment_exists,
    visible_post,
    visible_post_exists,
)
from app.services.writes import write_or_explain

_AUTHOR = table_of(User).alias("author")
_post_id = bindparam("post_id", type_=Integer)
_comment_id = bindparam("comment_id", type_=Integer)

# A page of the post's comments, oldest first, behind the post itself: no row at all when the
# caller may not see the post (404), no comment rows when it has none.
_PAGE = (
    sql_select(
        *labelled(columns_for(CommentPublic, COMMENTS, author=columns_for(UserPublic, _AUTHOR)))
    )
    .join(_AUTHOR, _AUTHOR.c.id == COMMENTS.c.author_id)
    .where(COMMENTS.c.post_id == _post_id, shown_account(_AUTHOR.c.id, disabled=_AUTHOR.c.disabled))
    .order_by(COMMENTS.c.created_at, COMMENTS.c.id)
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("skip", type_=Integer))
)
_LIST = Query(
    CommentPublic,
    _PAGE,
    gate=sql_select(POSTS.c.id).where(POSTS.c.id == _post_id, visible_post()),
    order_by=lambda page: (page.c.created_at, page.c.id),
)


async def list_comments(
    caller: TokenClaims, post_id: int, *, limit: int, skip: int
) -> list[CommentPublic]:
    params = {**token_params(caller), "post_id": post_id, "limit": limit, "skip": skip}
    comments = await _LIST.behind_gate(params)
    if comments is None:
        raise NotFound(POST_NOT_FOUND)
    return comments


# The comment written on a post the caller sees, and returned with its author (the caller).
_CREATE = (
    insert(COMMENTS)
    .from_select(
        ["post_id", "author_id", "body", "created_at"],
        sql_select(
            _post_id,
            VIEWER,
            bindparam("body", type_=COMMENTS.c.body.type),
            bindparam("now", type_=COMMENTS.c.created_at.type),
        ).where(visible_post_exists(_post_id)),
    )
    .returning(
        *labelled(
            columns_for(
                CommentPublic,
                COMMENTS,
                author=looked_up(UserPublic, _AUTHOR, literal_column("comments.author_id")),
            )
        )
    )
)
_CREATED = Shape(CommentPublic, _CREATE)


async def create_comment(
    session: AsyncSession, caller: TokenClaims, post_id: int, data: CommentCreate
) -> CommentPublic:
    params = {**token_params(caller), "post_id": post_id, "body": data.body, "now": utcnow()}
    row = await write_or_explain(
        session,
        _CREATE,
        params,
        target=visible_post_exists(_post_id),
        not_found=POST_NOT_FOUND,
        refused=NotFound(POST_NOT_FOUND),
    )
    return _CREATED(row)


# A comment the caller sees, and may delete: theirs, on their post, or any for an admin.
_DELETE = (
    delete(COMMENTS)
    .where(
        COMMENTS.c.id == _comment_id,
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
    await write_or_explain(
        session,
        _DELETE,
        {**token_params(caller), "comment_id": comment_id},
        target=visible_comment_exists(_comment_id),
        not_found=COMMENT_NOT_FOUND,
        refused=Forbidden("Not allowed to delete this comment"),
    )
