"""Posts: every `PostPublic` comes from the columns named here (app/db/rows.py).

The statements are built once, with bound parameters, so that each is compiled once and every
request only binds its values. The feed and single posts are read on the read path
(app/db/reads.py), one statement each that also checks the caller's session (their routes opt
into that check: `CallerCheckedInStatement`). Writes go through the session: one statement
each that checks the caller's session and the post, writes and returns the post
(`write_or_explain`), except the batch of new posts (one transaction).
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    bindparam,
    case,
    exists,
    false,
    func,
    insert,
    literal_column,
    or_,
)
from sqlalchemy import select as sql_select
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Forbidden, NotFound, Unauthorized
from app.core.security import TokenClaims
from app.db.reads import Query
from app.db.rows import Columns, Shape, columns_for, labelled, looked_up
from app.db.sql import in_few, like_ignoring_case, like_pattern, paged
from app.models import (
    Post,
    PostCreate,
    PostPublic,
    PostUpdate,
    Session,
    User,
    UserPublic,
    Vote,
    table_of,
    utcnow,
)
from app.services.sessions import SESSION_ALIVE, token_params
from app.services.visibility import (
    CALLER_IS_ADMIN,
    POST_ID,
    POST_NOT_FOUND,
    POSTS,
    THE_POST,
    VIEWER,
    comments_shown,
    visible_post,
)
from app.services.writes import write_or_explain

_USERS = table_of(User)
_OWNER = _USERS.alias("owner")


def _vote_count(post_id: Any) -> Any:
    return select(func.count()).select_from(Vote).where(col(Vote.post_id) == post_id)


def _caller_voted(post_id: Any) -> ColumnElement[bool]:
    return exists().where(col(Vote.post_id) == post_id, col(Vote.user_id) == VIEWER)


def _post_columns(post_id: Any, owner: Columns) -> Columns:
    """`PostPublic`'s columns: the post's own (by name), its owner, its votes, whether the
    caller voted, and the comments the caller sees. `post_id`: the post's id column."""
    return columns_for(
        PostPublic,
        POSTS,
        owner=owner,
        votes=_vote_count(post_id).scalar_subquery(),
        voted=_caller_voted(post_id),
        comments=comments_shown(post_id),
    )


def _post_public(*where: ColumnElement[bool]) -> Any:
    """Every `PostPublic` the caller may see among the posts matching `where`."""
    return (
        sql_select(*labelled(_post_columns(POSTS.c.id, columns_for(UserPublic, _OWNER))))
        .join(_OWNER, _OWNER.c.id == POSTS.c.owner_id)
        .where(visible_post(owner_disabled=_OWNER.c.disabled), *where)
    )


def _page(*where: ColumnElement[bool]) -> Any:
    """One page, newest first. The page's ids are chosen first, so that a deep `skip` walks
    the feed index only, and counts votes for the returned posts alone."""
    newest_first = (POSTS.c.created_at.desc(), POSTS.c.id.desc())
    ids = paged(sql_select(POSTS.c.id).where(visible_post(), *where).order_by(*newest_first))
    return _post_public(in_few(POSTS.c.id, sql_select(ids.subquery("page_ids").c.id)))


# The caller's session is the reads' gate: the token is checked in the same statement (no
# round trip of its own). No row at all: the session has ended (or was never the user's).
_SESSIONS = table_of(Session)
_CALLERS_SESSION = sql_select(_SESSIONS.c.id).where(
    _SESSIONS.c.id == bindparam("session_id", type_=Integer), _SESSIONS.c.user_id == VIEWER
)


NEWEST_FIRST = ("-created_at", "-id")
_ONE = Query(PostPublic, _post_public(POSTS.c.id == POST_ID), gate=_CALLERS_SESSION)
_FEED = Query(PostPublic, _page(), gate=_CALLERS_SESSION, order_by=NEWEST_FIRST)
_SEARCH = Query(
    PostPublic,
    _page(like_ignoring_case(POSTS.c.title, bindparam("pattern"))),
    gate=_CALLERS_SESSION,
    order_by=NEWEST_FIRST,
)


async def _read(
    query: Query[PostPublic], viewer: TokenClaims, *, prepare: bool | None = None, **params: Any
) -> list[PostPublic]:
    """The posts of a query behind the caller's session, once it is found alive (else 401)."""
    params = {**token_params(viewer), **params}
    return await query.behind_gate(params, closed=Unauthorized(), prepare=prepare)


async def list_posts(
    viewer: TokenClaims, *, limit: int, skip: int, search: str | None
) -> list[PostPublic]:
    if not search:
        return await _read(_FEED, viewer, limit=limit, skip=skip)
    # A statement run often gets prepared, and PostgreSQL may then reuse one generic plan for
    # every pattern. The best plan depends on the word: walk the feed index for a common one,
    # use the trigram index for a rare one. So each search is planned for its word.
    pattern = like_pattern(search)
    return await _read(_SEARCH, viewer, prepare=False, limit=limit, skip=skip, pattern=pattern)


async def get_post(viewer: TokenClaims, post_id: int) -> PostPublic:
    posts = await _read(_ONE, viewer, post_id=post_id)
    if not posts:
        raise NotFound(POST_NOT_FOUND)
    return posts[0]


# After the batch's inserts, in its transaction (an expanding IN list is compiled per call).
_SOME = _post_public(POSTS.c.id.in_(bindparam("post_ids", expanding=True)))
_SOME_SHAPE = Shape(PostPublic, _SOME)
# The caller's account, enabled, in a session that lives: locked (FOR SHARE) until the batch
# commits, so that disabling or deleting the account waits for it, or came first (401).
_BATCH_OWNER = (
    select(_USERS.c.id)
    .where(_USERS.c.id == VIEWER, ~_USERS.c.disabled, SESSION_ALIVE)
    .with_for_update(read=True, of=_USERS)
)


async def create_posts(
    session: AsyncSession, viewer: TokenClaims, items: Sequence[PostCreate]
) -> list[PostPublic]:
    """Create posts in one transaction: all of them or none, answered 201 exactly when they are
    stored. 401 when the caller's session has ended, or the account is disabled or deleted."""
    params = token_params(viewer)
    if (await session.exec(_BATCH_OWNER, params=params)).first() is None:
        await session.rollback()
        raise Unauthorized()
    now = utcnow()
    posts = [
        Post.model_validate(item, update={"owner_id": viewer.user_id, "created_at": now})
        for item in items
    ]
    session.add_all(posts)
    await session.flush()
    ids = [post.id for post in posts]
    rows = (await session.exec(_SOME, params={**params, "post_ids": ids})).all()
    by_id = {post.id: post for post in _SOME_SHAPE.all(rows)}
    await session.commit()
    return [by_id[post_id] for post_id in ids if post_id is not None]


# --- Writes: one statement each, through the session (`write_or_explain`).

# In RETURNING, SQLAlchemy neither qualifies the written table's columns nor correlates
# subqueries with it: the columns the subqueries need are spelt out.
_RETURNED_OWNER: ColumnElement[int] = literal_column("posts.owner_id")
_RETURNED_POST: ColumnElement[int] = literal_column("posts.id")
_RETURNED_OWNERS = looked_up(UserPublic, _OWNER, _RETURNED_OWNER)
_now = bindparam("now", type_=POSTS.c.updated_at.type)
_EDITABLE = ("title", "content", "published")
_FIELDS = {name: bindparam(name, type_=POSTS.c[name].type) for name in _EDITABLE}

# The caller's session checked, the post written (the caller's, now), and returned: a new
# post has no votes and no comments yet.
_CREATE = (
    insert(POSTS)
    .from_select(
        [*_EDITABLE, "owner_id", "created_at"],
        sql_select(*_FIELDS.values(), VIEWER, _now).where(SESSION_ALIVE),
    )
    .returning(
        *labelled(
            {
                **_post_columns(_RETURNED_POST, _RETURNED_OWNERS),
                "votes": literal_column("0"),
                "voted": false(),
                "comments": literal_column("0"),
            }
        )
    )
)
_CREATED = Shape(PostPublic, _CREATE)


async def create_post(session: AsyncSession, viewer: TokenClaims, data: PostCreate) -> PostPublic:
    """The new post; 401 when the caller's session has ended, or their account is deleted
    meanwhile (the foreign key refuses the post)."""
    params = {**data.model_dump(), **token_params(viewer), "now": utcnow()}
    return _CREATED(await write_or_explain(session, _CREATE, params))


# PUT and PATCH: a field left out (None) keeps its value (PATCH refuses null in the body).
_EDITED = {name: func.coalesce(field, POSTS.c[name]) for name, field in _FIELDS.items()}
_UPDATE = (
    update(POSTS)
    .where(POSTS.c.id == POST_ID, POSTS.c.owner_id == VIEWER, SESSION_ALIVE)
    .values(
        **_EDITED,
        # `updated_at` moves only when a value really changes.
        updated_at=case(
            (or_(*(POSTS.c[name] != value for name, value in _EDITED.items())), _now),
            else_=POSTS.c.updated_at,
        ),
    )
    .returning(*labelled(_post_columns(_RETURNED_POST, _RETURNED_OWNERS)))
)
_UPDATED = Shape(PostPublic, _UPDATE)


async def update_post(
    session: AsyncSession, viewer: TokenClaims, post_id: int, changes: dict[str, Any]
) -> PostPublic:
    """The owner's change to their post, in one statement that also checks the caller's
    session: 401 when it has ended, 404 for a post they may not see (or deleted meanwhile),
    403 for another user's post."""
    params = {**token_params(viewer), **changes, "post_id": post_id, "now": utcnow()}
    row = await write_or_explain(
        session,
        _UPDATE,
        params,
        target=THE_POST,
        refused=Forbidden(),
    )
    return _UPDATED(row)


async def replace_post(
    session: AsyncSession, viewer: TokenClaims, post_id: int, data: PostCreate
) -> PostPublic:
    return await update_post(session, viewer, post_id, data.model_dump())


async def patch_post(
    session: AsyncSession, viewer: TokenClaims, post_id: int, data: PostUpdate
) -> PostPublic:
    unset = dict.fromkeys(_EDITABLE)
    return await update_post(
        session, viewer, post_id, {**unset, **data.model_dump(exclude_unset=True)}
    )


# Its owner's post, or any post for an admin (drafts included); votes and comments go by
# cascade.
_DELETE = (
    delete(POSTS)
    .where(POSTS.c.id == POST_ID, SESSION_ALIVE, or_(POSTS.c.owner_id == VIEWER, CALLER_IS_ADMIN))
    .returning(POSTS.c.id)
)


async def delete_post(session: AsyncSession, viewer: TokenClaims, post_id: int) -> None:
    """Delete the post, in one statement that also checks the caller's session: 401 when it
    has ended, 404 for a post they may not see (or deleted meanwhile), 403 for another
    user's post (unless the caller is an admin)."""
    await write_or_explain(
        session,
        _DELETE,
        {**token_params(viewer), "post_id": post_id},
        target=THE_POST,
        refused=Forbidden(),
    )
