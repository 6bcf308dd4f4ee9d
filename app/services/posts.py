"""Posts: every `PostPublic` comes from one statement built here."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.models import Post, PostCreate, PostPublic, PostUpdate, User, UserPublic, Vote, utcnow
from app.sql import contains_ignoring_case


def visible_to(viewer_id: int) -> ColumnElement[bool]:
    """Published posts, plus the viewer's own drafts."""
    return or_(col(Post.published), col(Post.owner_id) == viewer_id)


def _post_public_select(viewer_id: int, *where: ColumnElement[bool]) -> Any:
    votes = (
        select(func.count())
        .select_from(Vote)
        .where(col(Vote.post_id) == col(Post.id))
        .scalar_subquery()
    )
    voted = exists().where(col(Vote.post_id) == col(Post.id), col(Vote.user_id) == viewer_id)
    return (
        select(Post, User, votes.label("votes"), voted.label("voted"))
        .join(User, col(User.id) == col(Post.owner_id))
        .where(visible_to(viewer_id), *where)
    )


async def _fetch(session: AsyncSession, statement: Any) -> list[PostPublic]:
    rows = (await session.exec(statement)).all()
    return [
        PostPublic.model_validate(
            post,
            update={
                "owner": UserPublic.model_validate(owner),
                "votes": votes,
                "voted": bool(voted),
            },
        )
        for post, owner, votes, voted in rows
    ]


async def list_posts(
    session: AsyncSession, viewer_id: int, *, limit: int, skip: int, search: str | None
) -> list[PostPublic]:
    where = [contains_ignoring_case(col(Post.title), search)] if search else []
    statement = (
        _post_public_select(viewer_id, *where)
        .order_by(col(Post.created_at).desc(), col(Post.id).desc())
        .limit(limit)
        .offset(skip)
    )
    return await _fetch(session, statement)


async def get_post(session: AsyncSession, viewer_id: int, post_id: int) -> PostPublic:
    posts = await _fetch(session, _post_public_select(viewer_id, col(Post.id) == post_id))
    if not posts:
        raise NotFound("Post not found")
    return posts[0]


async def _get_many(session: AsyncSession, viewer_id: int, ids: Sequence[int]) -> list[PostPublic]:
    by_id = {
        post.id: post
        for post in await _fetch(session, _post_public_select(viewer_id, col(Post.id).in_(ids)))
    }
    return [by_id[post_id] for post_id in ids]


async def find_visible_post(session: AsyncSession, viewer_id: int, post_id: int) -> Post | None:
    statement = select(Post).where(col(Post.id) == post_id, visible_to(viewer_id))
    return (await session.exec(statement)).first()


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
