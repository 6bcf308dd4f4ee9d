"""Demo data for clicking around in Swagger: `uv run python -m app.demo`.

Fills the database named by DATABASE_URL with four users and an admin, ten posts (two of them
drafts), a dozen votes and a few comments, then prints the logins. Every demo user has the same
password, DEMO_PASSWORD ("demo-password").

Safe to run again: users are found by email (case-insensitively), a post is created only if
its owner has no post with that title, a comment only if its author has not written it on that
post, and votes go in through the app's own vote statement (a vote is added once). A second
run creates nothing and prints the same logins.
"""

import asyncio
import sys
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.errors import Conflict
from app.core.security import verify_password
from app.db.engine import SessionFactory, engine
from app.db.migrations import upgrade_to_head
from app.models import Comment, CommentCreate, Post, PostCreate, User, UserCreate
from app.services.admin import set_admin
from app.services.users import find_by_email, register
from app.services.votes import add_vote_for_demo

DEMO_PASSWORD = "demo-password"

# Login name (the part before @example.com) -> display name.
USERS = {
    "alice": "Alice Martin",
    "bob": "Bob Nakamura",
    "carol": "Carol Okafor",
    "dave": "Dave Jensen",
    "admin": "Ada Admin",
}
ADMIN = "admin"  # the one admin: it may disable accounts and delete any post


@dataclass(frozen=True)
class DemoPost:
    author: str  # a key of USERS
    title: str  # unique per author: it is how a second run recognises the post
    content: str
    published: bool = True
    voters: tuple[str, ...] = ()  # keys of USERS; drafts cannot be voted on


POSTS = (
    DemoPost(
        "alice",
        "Getting started with FastAPI dependencies",
        "Dependencies are the quiet workhorse of FastAPI: the database session, the current "
        "user and the post you may edit all arrive as parameters, and each is tested on its "
        "own. Start with one for the session and you will soon want one for everything.",
        voters=("bob", "carol", "dave"),
    ),
    DemoPost(
        "alice",
        "Async SQLAlchemy sessions: one per request",
        "A session is a unit of work, not a connection pool. Open one per request, commit "
        "once in the service that owns the change, and let the dependency close it.",
        voters=("bob", "carol"),
    ),
    DemoPost(
        "alice",
        "Notes on PostgreSQL trigram search",
        "pg_trgm turns ILIKE '%term%' from a full scan into an index lookup. To do: measure "
        "it on a million titles before writing this up properly.",
        published=False,
    ),
    DemoPost(
        "bob",
        "Sourdough starter, week two",
        "The starter finally doubles in six hours. Rye flour in the first week made the "
        "difference; the jar now lives on top of the fridge, where it is warm.",
        voters=("alice", "carol", "dave"),
    ),
    DemoPost(
        "bob",
        "A weekend hike on the coast path",
        "Twenty-two kilometres, three beaches, one very stubborn sheep on the trail. Bring more "
        "water than you think and start before the day-trippers do.",
    ),
    DemoPost(
        "carol",
        "Why I switched my side project to SQLite",
        "One file, no server, backups with a copy. With WAL mode it serves far more traffic "
        "than my side project will ever see, and the tests start in milliseconds.",
        voters=("alice", "bob"),
    ),
    DemoPost(
        "carol",
        "Reading list: distributed systems classics",
        "Lamport's clocks, the Dynamo paper, Raft for people who found Paxos hard, and "
        "Designing Data-Intensive Applications for the connecting thread between them.",
        voters=("dave",),
    ),
    DemoPost(
        "carol",
        "Conference talk outline: testing async Python",
        "1. Why event loops make tests flaky. 2. One loop per session. 3. Real databases, "
        "rolled back per test. 4. Races you can reproduce on purpose.",
        published=False,
    ),
    DemoPost(
        "dave",
        "Homemade ramen broth in six hours",
        "Pork bones, blanched and scrubbed, then a hard boil until the broth turns milky. "
        "Season at the very end: the tare carries the salt, not the pot.",
        voters=("alice",),
    ),
    DemoPost(
        "dave",
        "Three things I learned running PostgreSQL backups",
        "A backup you have never restored is a hope, not a backup. Keep the WAL archive on "
        "another machine. And write down the restore steps before you need them at 3 a.m.",
    ),
)


@dataclass(frozen=True)
class DemoComment:
    post: str  # a title of POSTS (a published one)
    author: str  # a key of USERS
    body: str


COMMENTS = (
    DemoComment(
        "Sourdough starter, week two",
        "alice",
        "Rye did the same for mine. Did you keep feeding it twice a day?",
    ),
    DemoComment(
        "Sourdough starter, week two",
        "bob",
        "Twice a day for the first week, once a day since: it smells like apples now.",
    ),
    DemoComment(
        "Getting started with FastAPI dependencies",
        "dave",
        "The chained ones (post, then owned post) were what made it click for me.",
    ),
    DemoComment(
        "Why I switched my side project to SQLite",
        "bob",
        "How do you back it up while it is being written to?",
    ),
    DemoComment(
        "Why I switched my side project to SQLite",
        "carol",
        "VACUUM INTO a second file, then copy that one: consistent, and no downtime.",
    ),
)


@dataclass
class Tally:
    created: int = 0
    existing: int = 0


def email_of(key: str) -> str:
    return f"{key}@example.com"


async def _ensure_user(session: AsyncSession, key: str, tally: Tally) -> User:
    email = email_of(key)
    user = await find_by_email(session, email)
    if user is None:
        data = UserCreate(email=email, password=DEMO_PASSWORD, name=USERS[key])
        try:
            user = await register(session, data)
            tally.created += 1
            return user
        except Conflict:
            # Registered between our lookup and our insert: the unique index decided.
            user = await find_by_email(session, email)
            assert user is not None
    tally.existing += 1
    return user


async def _ensure_posts(
    session: AsyncSession, owner: User, posts: list[DemoPost], tally: Tally
) -> dict[str, int]:
    """The ids of the owner's demo posts (title -> id), creating those that are missing."""
    titles = [post.title for post in posts]
    statement = select(col(Post.title), col(Post.id)).where(
        col(Post.owner_id) == owner.id, col(Post.title).in_(titles)
    )
    rows = (await session.exec(statement)).all()
    # A stored post always has an id (SQLModel types it as optional, for unsaved rows).
    ids = {title: post_id for title, post_id in rows if post_id is not None}
    missing = [
        PostCreate(title=post.title, content=post.content, published=post.published)
        for post in posts
        if post.title not in ids
    ]
    if missing:
        # One transaction per owner (all or nothing).
        new = [Post.model_validate(post, update={"owner_id": owner.id}) for post in missing]
        session.add_all(new)
        await session.commit()
        ids.update({post.title: post.id for post in new if post.id is not None})
    tally.created += len(missing)
    tally.existing += len(posts) - len(missing)
    return ids


async def _ensure_comments(
    session: AsyncSession, users: dict[str, User], post_ids: dict[str, int], tally: Tally
) -> None:
    for comment in COMMENTS:
        post_id, author_id = post_ids[comment.post], users[comment.author].id
        written = select(col(Comment.id)).where(
            col(Comment.post_id) == post_id,
            col(Comment.author_id) == author_id,
            col(Comment.body) == comment.body,
        )
        if (await session.exec(written)).first() is not None:
            tally.existing += 1
            continue
        data = CommentCreate(body=comment.body)
        session.add(
            Comment.model_validate(data, update={"post_id": post_id, "author_id": author_id})
        )
        tally.created += 1
    await session.commit()


async def seed(session: AsyncSession) -> dict[str, Tally]:
    tallies = {"users": Tally(), "posts": Tally(), "votes": Tally(), "comments": Tally()}
    users = {key: await _ensure_user(session, key, tallies["users"]) for key in USERS}
    if not users[ADMIN].is_admin:
        await set_admin(session, email_of(ADMIN), is_admin=True)
    post_ids: dict[str, int] = {}
    for key, owner in users.items():
        mine = [post for post in POSTS if post.author == key]
        post_ids.update(await _ensure_posts(session, owner, mine, tallies["posts"]))
    for post in POSTS:
        for voter in post.voters:
            voter_id = users[voter].id
            assert voter_id is not None
            # Not added: there already, or its owner has made it a draft since (their choice).
            if await add_vote_for_demo(session, voter_id, post_ids[post.title]):
                tallies["votes"].created += 1
            else:
                tallies["votes"].existing += 1
    await _ensure_comments(session, users, post_ids, tallies["comments"])
    return tallies


async def _stale_logins() -> list[str]:
    """Demo users whose password was changed through the API since they were seeded."""
    async with SessionFactory() as session:
        stale = []
        for key in USERS:
            user = await find_by_email(session, email_of(key))
            if user and not await verify_password(
                DEMO_PASSWORD, user.hashed_password, account=user.email_key
            ):
                stale.append(email_of(key))
        return stale


async def _run() -> tuple[dict[str, Tally], list[str]]:
    try:
        async with SessionFactory() as session:
            tallies = await seed(session)
        # Only users that were already there can have a changed password.
        stale = await _stale_logins() if tallies["users"].existing else []
        return tallies, stale
    finally:
        await engine.dispose()


def report(tallies: dict[str, Tally], stale: list[str]) -> str:
    database = make_url(settings.DATABASE_URL).render_as_string(hide_password=True)
    lines = [f"Demo data in {database}"]
    lines += [
        f"  {name}: {tally.created} created, {tally.existing} already there"
        for name, tally in tallies.items()
    ]
    lines += ["", "Demo logins (one password for all):"]
    rows = [("email", "password", "name")]
    rows += [
        (email_of(key), DEMO_PASSWORD, f"{name} (admin)" if key == ADMIN else name)
        for key, name in USERS.items()
    ]
    widths = [max(len(row[column]) for row in rows) for column in (0, 1)]
    lines += [f"  {e:<{widths[0]}}  {p:<{widths[1]}}  {n}" for e, p, n in rows]
    lines += [f"  note: {email} no longer takes the demo password" for email in stale]
    # The PORT setting (environment or .env), which `fastapi dev` does not read by itself.
    port = settings.PORT
    command = "uv run fastapi dev" + ("" if port == 8000 else f" --port {port}")
    lines += [
        "",
        f"Start the API ({command}), open http://127.0.0.1:{port}/docs, click Authorize",
        "and log in with an email as the username and the password above.",
    ]
    return "\n".join(lines)


def main() -> int:
    if settings.ENVIRONMENT == "production":
        # Accounts with a published password would be an open door in production.
        print("app.demo: refusing to seed demo users with ENVIRONMENT=production", file=sys.stderr)
        return 1
    # Blocking, and Alembic runs its own event loop: so before ours, not inside it.
    upgrade_to_head()
    tallies, stale = asyncio.run(_run())
    print(report(tallies, stale))
    return 0
