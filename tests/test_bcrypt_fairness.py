"""One account's flood of password checks cannot starve everyone else's logins: bcrypt serves
the accounts in turn (app/core/security.py). Told by the order in which answers arrive, not by
how long they take."""

import asyncio

import bcrypt
from httpx import AsyncClient, Response
from sqlmodel import col, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import User
from tests.factories import create_user, new_account, try_login

FLOOD = 24  # concurrent wrong-password checks from one account, each far slower than a login's
# The flooding account's hash at cost 10 (about 60 ms a check, the suite's cost 4 takes 1 ms):
# its checks pile up in bcrypt's queue faster than the threads get through them, as cost-12
# checks do in production.
FLOOD_COST = 10


async def test_a_flood_of_wrong_passwords_from_one_account_does_not_hold_up_another_login(
    client: AsyncClient, session: AsyncSession
) -> None:
    flooder = await new_account(client)
    other = await create_user(client)
    slow_hash = bcrypt.hashpw(flooder["password"].encode(), bcrypt.gensalt(FLOOD_COST))
    await session.exec(
        update(User).where(col(User.id) == flooder["id"]).values(hashed_password=slow_hash.decode())
    )
    await session.commit()
    answered: list[str] = []

    async def wrong_password() -> Response:
        response = await client.patch(
            "/users/me",
            json={"password": "a new passphrase", "current_password": "not the password"},
            headers=flooder["headers"],
        )
        answered.append("flood")
        return response

    flood = [asyncio.create_task(wrong_password()) for _ in range(FLOOD)]
    # The other user logs in once the flood's checks are under way: its first answer is out.
    await asyncio.wait(flood, return_when=asyncio.FIRST_COMPLETED)
    login = await try_login(client, other["email"], other["password"])
    answered.append("login")
    flooded = await asyncio.gather(*flood)

    assert login.status_code == 200, login.text
    assert {r.status_code for r in flooded} == {403}
    # In turn with the flood, the login waits for a hash or two of it, not for all of them.
    assert answered.index("login") < FLOOD // 2, answered
