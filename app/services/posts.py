"""Posts: every `PostPublic` comes from one statement built here.

The statements are built once, with bound parameters, so that SQLAlchemy compiles each of them
once and every request only binds its values.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, Row, bindparam, exists, func, or_, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.models import Post, PostCreate, PostPublic, PostUpdate, User, UserPublic, Vote, utcnow
from app.sql import like_ignoring_case, like_pattern

_viewer = bindparam("viewer_id", type_=Integer)


def visible_to(viewer_id: Any) -> ColumnElement[bool]:
    """Published posts, plus the viewer's own drafts."""
    return or_(col(Post.published), col(Post.owner_id) == viewer_id)


_VOTES = (
    select(func.count())
    .select_from(Vote)
    .where(col(Vote.post_id) == col(Post.id))
    .scalar_subquery()
    .label("votes")
)
_VOTED = (
    exists().where(col(Vote.post_id) == col(Post.id), col(Vote.user_id) == _viewer).label("voted")
)
_NEWEST_FIRST = (col(Post.created_at).desc(), col(Post.id).desc())


def _post_public(*where: ColumnElement[bool]) -> Any:
    """Post, owner, vote count and the viewer's vote, for the visible posts matching `where`."""
    return (
        select(
            Post.id,
            Post.title,
            Post.content,
            Post.published,
            Post.created_at,
            Post.updated_at,
            Post.owner_id,
            col(User.name).label("owner_name"),
            col(User.created_at).label("owner_created_at"),
            _VOTES,
            _VOTED,
        )
        .join(User, col(User.id) == col(Post.owner_id))
        .where(visible_to(_viewer), *where)
    )


def _page(*where: ColumnElement[bool]) -> Any:
    """One page, newest first. The page's ids are chosen first, so that a deep `skip` walks
    the feed index only, and counts votes for the returned posts alone."""
    ids = (
        select(Post.id)
        .where(visible_to(_viewer), *where)
        .order_by(*_NEWEST_FIRST)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("skip", type_=Integer))
        .subquery("page")
    )
    return _post_public(col(Post.id).in_(select(ids.c.id))).order_by(*_NEWEST_FIRST)


_ONE = _post_public(col(Post.id) == bindparam("post_id", type_=Integer))
_SOME = _post_public(col(Post.id).in_(bindparam("post_ids", expanding=True)))
_FEED = _page()
_SEARCH = _page(like_ignoring_case(col(Post.title), bindparam("pattern")))


def _to_public(row: Row[Any]) -> PostPublic:
    # Values straight from the database columns: no need to validate them again.
    owner = UserPublic.model_construct(
        id=row.owner_id, name=row.owner_name, created_at=row.owner_created_at
    )
    return PostPublic.model_construct(
        id=row.id,
        title=row.title,
        content=row.content,
        published=row.published,
        created_at=row.created_at,
        updated_at=row.updated_at,
        owner_id=row.owner_id,
        owner=owner,
        votes=row.votes,
        voted=bool(row.voted),
    )


async def _fetch(session: AsyncSession, statement: Any, **params: Any) -> list[PostPublic]:
    rows = (await session.exec(statement, params=params)).all()
    return [_to_public(row) for row in rows]


async def list_posts(
    session: AsyncSession, viewer_id: int, *, limit: int, skip: int, search: str | None
) -> list[PostPublic]:
    params: dict[str, Any] = {"viewer_id": viewer_id, "limit": limit, "skip": skip}
    if not search:
        return await _fetch(session, _FEED, **params)
    if session.get_bind().dialect.name == "postgresql":
        # psycopg prepares a statement run often, and PostgreSQL may then reuse one generic
        # plan for every pattern. The best plan depends on the word: walk the feed index for
        # a common one, use the trigram index for a rare one. Plan each search for its word.
        await session.exec(text("SET LOCAL plan_cache_mode = force_custom_plan"))  # type: ignore[call-overload]
    return await _fetch(session, _SEARCH, pattern=like_pattern(search), **params)


async def get_post(session: AsyncSession, viewer_id: int, post_id: int) -> PostPublic:
    posts = await _fetch(session, _ONE, viewer_id=viewer_id, post_id=post_id)
    if not posts:
        raise NotFound("Post not found")
    return posts[0]


async def _get_many(session: AsyncSession, viewer_id: int, ids: Sequence[int]) -> list[PostPublic]:
    found = await _fetch(session, _SOME, viewer_id=viewer_id, post_ids=list(ids))
    by_id = {post.id: post for post in found}
    return [by_id[post_id] for post_id in ids]


_VISIBLE_POST = select(Post).where(
    col(Post.id) == bindparam("post_id", type_=Integer), visible_to(_viewer)
)


async def get_visible_post(session: AsyncSession, viewer_id: int, post_id: int) -> Post:
    """The post (for changes), if the viewer may see it: others' drafts do not exist (404)."""
    params = {"viewer_id": viewer_id, "post_id": post_id}
    post = (await session.exec(_VISIBLE_POST, params=params)).first()
    if post is None:
        raise NotFound("Post not found")
    return post


async def create_posts(
    session: AsyncSession, owner: User, items: Sequence[PostCreate]
) -> list[PostPublic]:
    """Create posts in one transaction: all of them or none."""
    assert owner.id is not None
    now = utcnow()
    posts = [
        Post.model_validate(item, update={"owner_id": owner.id, "created_at": now})
        for item in items
    ]
    session.add_all(posts)
    await session.commit()
    return await _get_many(session, owner.id, [post.id for post in posts if post.id is not None])


async def create_post(session: AsyncSession, owner: User, data: PostCreate) -> PostPublic:
    (post,) = await create_posts(session, owner, [data])
    return post


async def update_post(session: AsyncSession, post: Post, changes: dict[str, Any]) -> PostPublic:
    """Apply `changes`; `updated_at` moves only when a value really changes."""
    changed = {key: value for key, value in changes.items() if getattr(post, key) != value}
    if changed:
        post.sqlmodel_update(changed)
        post.updated_at = utcnow()
        session.add(post)
        await session.commit()
    assert post.id is not None
    return await get_post(session, post.owner_id, post.id)


async def replace_post(session: AsyncSession, post: Post, data: PostCreate) -> PostPublic:
    return await update_post(session, post, data.model_dump())


async def patch_post(session: AsyncSession, post: Post, data: PostUpdate) -> PostPublic:
    return await update_post(session, post, data.model_dump(exclude_unset=True))


async def delete_post(session: AsyncSession, post: Post) -> None:
    # The database removes the post's votes (ON DELETE CASCADE).
    await session.delete(post)
    await session.commit()
