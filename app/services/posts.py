"""Posts: every `PostPublic` comes from one statement built here.

The statements are built once, with bound parameters, so that each is compiled once and every
request only binds its values. The feed and single-post reads run on the read path
(app/db/reads.py), one statement each, outside the ORM session. Writes use the session: one
statement each that also returns the post (`RETURNING`), except the batch of new posts, read
back after its transaction.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    insert,
    literal_column,
    or_,
    true,
)
from sqlalchemy import select as sql_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import Forbidden, NotFound, Unauthorized
from app.core.security import TokenClaims
from app.db import reads
from app.db.reads import Query, Row
from app.db.sql import in_few, like_ignoring_case, like_pattern
from app.db.statements import run_alone
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

POST_NOT_FOUND = "Post not found"
_viewer = bindparam("viewer_id", type_=Integer)


_DISABLED = select(col(User.id)).where(col(User.disabled))  # few: a partial index serves it
_VIEWER = table_of(User).alias("viewer")


_CALLER_IS_ADMIN = exists().where(_VIEWER.c.id == _viewer, _VIEWER.c.is_admin)


def visible_to_caller(*, owner_disabled: Any = None) -> ColumnElement[bool]:
    """Published posts, plus the caller's own drafts; a disabled account's posts only to
    admins (API.md, "Admins"). Drafts stay private to admins too. `owner_disabled`: the
    owner's flag, where the statement joins the owner anyway (no subquery then)."""
    shown = col(Post.owner_id).not_in(_DISABLED) if owner_disabled is None else ~owner_disabled
    return and_(
        or_(col(Post.published), col(Post.owner_id) == _viewer),
        or_(shown, _CALLER_IS_ADMIN),
    )


def _vote_count(post_id: Any) -> Any:
    return select(func.count()).select_from(Vote).where(col(Vote.post_id) == post_id)


def _caller_voted(post_id: Any) -> ColumnElement[bool]:
    return exists().where(col(Vote.post_id) == post_id, col(Vote.user_id) == _viewer)


_VOTES = _vote_count(col(Post.id)).scalar_subquery().label("votes")
_VOTED = _caller_voted(col(Post.id)).label("voted")
_NEWEST_FIRST = (col(Post.created_at).desc(), col(Post.id).desc())


# The post's own columns in a `PostPublic`, in `_to_public`'s order.
_PUBLIC_COLUMNS = ("id", "title", "content", "published", "created_at", "updated_at", "owner_id")


def _post_public(*where: ColumnElement[bool]) -> Any:
    """Post, owner, vote count and the viewer's vote, for the visible posts matching `where`."""
    return (
        sql_select(
            *(col(getattr(Post, name)) for name in _PUBLIC_COLUMNS),
            col(User.name).label("owner_name"),
            col(User.created_at).label("owner_created_at"),
            _VOTES,
            _VOTED,
        )
        .join(User, col(User.id) == col(Post.owner_id))
        .where(visible_to_caller(owner_disabled=col(User.disabled)), *where)
    )


def _page(*where: ColumnElement[bool]) -> Any:
    """One page, newest first. The page's ids are chosen first, so that a deep `skip` walks
    the feed index only, and counts votes for the returned posts alone."""
    ids = (
        select(Post.id)
        .where(visible_to_caller(), *where)
        .order_by(*_NEWEST_FIRST)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("skip", type_=Integer))
        .subquery("page")
    )
    return _post_public(in_few(col(Post.id), select(ids.c.id))).order_by(*_NEWEST_FIRST)


# The caller's session, as the reads' left side: the token is checked in the same statement (no
# round trip of its own). No row at all: the session has ended (or was never the user's).
_CURRENT = table_of(Session).alias("current_session")


def _for_viewer(posts: Any, *, newest_first: bool) -> Query:
    """Each row of `posts` prefixed with the id of the caller's session; a caller with no
    matching post gets one row of NULL post columns."""
    found = posts.subquery("found")
    order = (found.c.created_at.desc(), found.c.id.desc()) if newest_first else ()
    return Query(
        select(_CURRENT.c.id, *found.c)
        .select_from(_CURRENT.outerjoin(found, true()))
        .where(
            _CURRENT.c.id == bindparam("session_id", type_=Integer),
            _CURRENT.c.user_id == _viewer,
        )
        .order_by(*order)
    )


_ONE = _for_viewer(
    _post_public(col(Post.id) == bindparam("post_id", type_=Integer)), newest_first=False
)
_FEED = _for_viewer(_page(), newest_first=True)
_SEARCH = _for_viewer(
    _page(like_ignoring_case(col(Post.title), bindparam("pattern"))), newest_first=True
)
# After the batch of new posts, through the session (an expanding IN list is compiled per call).
_SOME = _post_public(col(Post.id).in_(bindparam("post_ids", expanding=True)))


def _to_public(row: Row) -> PostPublic:
    # Values straight from the database columns: no need to validate them again.
    (id_, title, content, published, created_at, updated_at, owner_id) = row[:7]
    (owner_name, owner_created_at, votes, voted) = row[7:]
    return PostPublic.model_construct(
        id=id_,
        title=title,
        content=content,
        published=published,
        created_at=created_at,
        updated_at=updated_at,
        owner_id=owner_id,
        owner=UserPublic.model_construct(id=owner_id, name=owner_name, created_at=owner_created_at),
        votes=votes,
        voted=bool(voted),
    )


async def _read(
    viewer: TokenClaims, query: Query, *, prepare: bool | None = None, **params: Any
) -> list[PostPublic]:
    """The posts of a `_for_viewer` query, once the caller's session is found alive (else 401)."""
    params = {**token_params(viewer), **params}
    rows = await reads.fetch(query, params, prepare=prepare)
    if not rows:
        raise Unauthorized()
    return [_to_public(row[1:]) for row in rows if row[1] is not None]


async def list_posts(
    viewer: TokenClaims, *, limit: int, skip: int, search: str | None
) -> list[PostPublic]:
    if not search:
        return await _read(viewer, _FEED, limit=limit, skip=skip)
    # A statement run often gets prepared, and PostgreSQL may then reuse one generic plan for
    # every pattern. The best plan depends on the word: walk the feed index for a common one,
    # use the trigram index for a rare one. So each search is planned for its word.
    pattern = like_pattern(search)
    return await _read(viewer, _SEARCH, prepare=False, limit=limit, skip=skip, pattern=pattern)


async def get_post(viewer: TokenClaims, post_id: int) -> PostPublic:
    posts = await _read(viewer, _ONE, post_id=post_id)
    if not posts:
        raise NotFound(POST_NOT_FOUND)
    return posts[0]


async def _get_many(session: AsyncSession, viewer_id: int, ids: Sequence[int]) -> list[PostPublic]:
    """The posts `ids`, in that order, as the viewer sees them; those gone meanwhile (deleted
    by a concurrent request) are left out."""
    params = {"viewer_id": viewer_id, "post_ids": list(ids)}
    found = [_to_public(row) for row in (await session.exec(_SOME, params=params)).all()]
    by_id = {post.id: post for post in found}
    return [by_id[post_id] for post_id in ids if post_id in by_id]


# --- Writes: each is one statement through the session, which checks the caller's session
# (SESSION_ALIVE) and the post, writes, and returns what the response needs. Only when it
# writes nothing does a second query find out why (`explain_refusal`).

# The tables, not the ORM classes: these statements need none of the ORM's machinery.
_POSTS = table_of(Post)
_OWNER = table_of(User).alias("owner")
_now = bindparam("now", type_=_POSTS.c.updated_at.type)
# In RETURNING, SQLAlchemy neither qualifies the written table's columns nor correlates
# subqueries with it: the columns the subqueries need are spelt out.
_RETURNED_OWNER: ColumnElement[int] = literal_column("posts.owner_id")
_RETURNED_POST: ColumnElement[int] = literal_column("posts.id")


def _owners(column: str) -> Any:
    """The written post's owner's `column`, for RETURNING."""
    return sql_select(_OWNER.c[column]).where(_OWNER.c.id == _RETURNED_OWNER).scalar_subquery()


_post_id = bindparam("post_id", type_=Integer)
_THE_POST = col(Post.id) == _post_id
# The writes' check, inside their own statement: post `post_id` is one the caller may see.
VISIBLE_POST_EXISTS = exists().where(_THE_POST, visible_to_caller())
_WHY_NOT = select(SESSION_ALIVE, VISIBLE_POST_EXISTS)


async def explain_refusal(session: AsyncSession, params: dict[str, Any]) -> None:
    """After a write to post `post_id` that found nothing to write: 401 when the caller's
    session has ended, 404 when the post is not one they may see; else it returns (the
    caller may see the post but not change it)."""
    alive, visible = (await session.exec(_WHY_NOT, params=params)).one()
    await session.rollback()
    if not alive:
        raise Unauthorized()
    if not visible:
        raise NotFound(POST_NOT_FOUND)


def caller_params(viewer: TokenClaims, post_id: int) -> dict[str, Any]:
    return {**token_params(viewer), "post_id": post_id}


async def create_posts(
    session: AsyncSession, owner: User, items: Sequence[PostCreate]
) -> list[PostPublic]:
    """Create posts in one transaction: all of them or none. An owner whose account a
    concurrent request deleted gets 401, whether the deletion came first (the foreign key
    refuses the posts) or right after the commit (its cascade took them)."""
    assert owner.id is not None
    now = utcnow()
    posts = [
        Post.model_validate(item, update={"owner_id": owner.id, "created_at": now})
        for item in items
    ]
    session.add_all(posts)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Unauthorized() from None
    ids = [post.id for post in posts if post.id is not None]
    created = await _get_many(session, owner.id, ids)
    if len(created) < len(ids):
        raise Unauthorized()
    return created


_EDITABLE = ("title", "content", "published")
_FIELDS = {name: bindparam(name, type_=_POSTS.c[name].type) for name in _EDITABLE}
# One statement: the caller's session checked, the post written (the caller's, now), and the
# post returned as `_to_public` reads it (no votes yet, so none of them the caller's).
_CREATE = (
    insert(_POSTS)
    .from_select(
        [*_EDITABLE, "owner_id", "created_at"],
        sql_select(*_FIELDS.values(), _viewer, _now).where(SESSION_ALIVE),
    )
    .returning(
        *(_POSTS.c[name] for name in _PUBLIC_COLUMNS),
        _owners("name"),
        _owners("created_at"),
        literal_column("0"),
        false(),
    )
)


async def create_post(session: AsyncSession, viewer: TokenClaims, data: PostCreate) -> PostPublic:
    """The new post; 401 when the caller's session has ended, or their account is deleted
    meanwhile (the foreign key refuses the post)."""
    params = {**data.model_dump(), **token_params(viewer), "now": utcnow()}
    try:
        row = await run_alone(session, _CREATE, params)
    except IntegrityError:
        await session.rollback()
        raise Unauthorized() from None
    if row is None:
        raise Unauthorized()
    return _to_public(row)


# PUT and PATCH: a field left out (None) keeps its value (PATCH refuses null in the body).
_EDITED = {name: func.coalesce(field, _POSTS.c[name]) for name, field in _FIELDS.items()}
_UPDATE = (
    update(_POSTS)
    .where(_POSTS.c.id == _post_id, _POSTS.c.owner_id == _viewer, SESSION_ALIVE)
    .values(
        **_EDITED,
        # `updated_at` moves only when a value really changes.
        updated_at=case(
            (or_(*(_POSTS.c[name] != value for name, value in _EDITED.items())), _now),
            else_=_POSTS.c.updated_at,
        ),
    )
    .returning(
        *(_POSTS.c[name] for name in _PUBLIC_COLUMNS),
        _owners("name"),
        _owners("created_at"),
        _vote_count(_RETURNED_POST).scalar_subquery(),
        _caller_voted(_RETURNED_POST),
    )
)


async def update_post(
    session: AsyncSession, viewer: TokenClaims, post_id: int, changes: dict[str, Any]
) -> PostPublic:
    """The owner's change to their post, in one statement that also checks the caller's
    session: 401 when it has ended, 404 for a post they may not see (or deleted meanwhile),
    403 for another user's post."""
    params = caller_params(viewer, post_id)
    row = await run_alone(session, _UPDATE, {**params, **changes, "now": utcnow()})
    if row is None:
        await explain_refusal(session, params)
        raise Forbidden()
    return _to_public(row)


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


# Its owner's post, or any post for an admin (drafts included); the votes go by cascade.
_DELETE = (
    delete(_POSTS)
    .where(
        _POSTS.c.id == _post_id,
        SESSION_ALIVE,
        or_(_POSTS.c.owner_id == _viewer, _CALLER_IS_ADMIN),
    )
    .returning(_POSTS.c.id)
)


async def delete_post(session: AsyncSession, viewer: TokenClaims, post_id: int) -> None:
    """Delete the post, in one statement that also checks the caller's session: 401 when it
    has ended, 404 for a post they may not see (or deleted meanwhile), 403 for another
    user's post (unless the caller is an admin)."""
    params = caller_params(viewer, post_id)
    if await run_alone(session, _DELETE, params) is None:
        await explain_refusal(session, params)
        raise Forbidden()
