"""Races between connections that really commit: the database settles them, never a 500.

On PostgreSQL and on SQLite alike: there, concurrent writers wait their turn for the database's
write lock (sessions begin IMMEDIATE) and get the same answers as on PostgreSQL.
"""

import asyncio
from collections import Counter

from httpx import AsyncClient

from tests.factories import create_post, new_account

RACERS = 20


def letter_cases(email: str, count: int) -> list[str]:
    """`count` spellings of `email` that differ only in letter case."""
    letters = [i for i, ch in enumerate(email) if ch.isalpha()]
    variants = []
    for n in range(count):
        chars = list(email)
        for bit, index in enumerate(letters):
            if n >> bit & 1:
                chars[index] = chars[index].upper()
        variants.append("".join(chars))
    assert len(set(variants)) == count
    return variants


async def test_concurrent_identical_votes_give_one_201_and_409s(
    client: AsyncClient,
) -> None:
    author = await new_account(client)
    voter = await new_account(client)
    post = await create_post(client, author["headers"])

    responses = await asyncio.gather(
        *(
            client.post("/vote", json={"post_id": post["id"], "dir": 1}, headers=voter["headers"])
            for _ in range(RACERS)
        )
    )

    assert Counter(r.status_code for r in responses) == {201: 1, 409: RACERS - 1}
    assert all(isinstance(r.json()["detail"], str) for r in responses if r.status_code == 409)
    seen = await client.get(f"/posts/{post['id']}", headers=voter["headers"])
    assert (seen.json()["votes"], seen.json()["voted"]) == (1, True)


async def test_concurrent_votes_by_many_users_all_count(client: AsyncClient) -> None:
    author = await new_account(client)
    post = await create_post(client, author["headers"])
    voters = [await new_account(client) for _ in range(10)]

    responses = await asyncio.gather(
        *(
            client.post("/vote", json={"post_id": post["id"], "dir": 1}, headers=v["headers"])
            for v in voters
        )
    )

    assert [r.status_code for r in responses] == [201] * len(voters)
    seen = await client.get(f"/posts/{post['id']}", headers=author["headers"])
    assert (seen.json()["votes"], seen.json()["voted"]) == (len(voters), False)


async def test_concurrent_registrations_of_one_email_give_one_201_and_409s(
    client: AsyncClient,
) -> None:
    spellings = letter_cases("race.condition@example.com", RACERS)

    responses = await asyncio.gather(
        *(client.post("/users", json={"email": e, "password": "password123"}) for e in spellings)
    )

    assert Counter(r.status_code for r in responses) == {201: 1, 409: RACERS - 1}
    assert {r.json()["detail"] for r in responses if r.status_code == 409} == {
        "Email already registered"
    }
    (winner,) = [r.json()["email"] for r in responses if r.status_code == 201]
    # Whoever won, the account answers to every spelling of the address.
    login = await client.post("/login", data={"username": spellings[-1], "password": "password123"})
    assert login.status_code == 200
    me = await client.get(
        "/users/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.json()["email"] == winner
