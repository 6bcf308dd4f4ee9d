"""`python -m app.admin promote EMAIL` (or `demote EMAIL`): make an account an admin, or stop
it being one. Run it on the server (in the container: Render's Shell tab, `railway ssh`): the first
admin can be made no other way; after that, admins manage admins through the API too."""

import argparse
import asyncio
import sys

from sqlalchemy.exc import DBAPIError

from app.core.errors import Conflict
from app.db.engine import SessionFactory, engine
from app.db.migrations import connection_problem, how_to_fix
from app.models import User
from app.services.admin import set_admin


async def _set_admin(address: str, is_admin: bool) -> User | None:
    try:
        async with SessionFactory() as session:
            return await set_admin(session, address, is_admin)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.admin", description="Make an account an admin, or stop it being one."
    )
    parser.add_argument("action", choices=["promote", "demote"])
    parser.add_argument("email", help="the account's e-mail address (any spelling of it)")
    args = parser.parse_args(argv)
    promote = args.action == "promote"
    try:
        user = asyncio.run(_set_admin(args.email, promote))
    except (DBAPIError, OSError) as error:
        print(f"app.admin: {connection_problem(error)}: {how_to_fix(error)}", file=sys.stderr)
        return 1
    except Conflict as error:  # the last enabled admin: the API would be left without one
        print(
            f"app.admin: cannot demote {args.email!r}: {error.detail} "
            "(promote another account first)",
            file=sys.stderr,
        )
        return 1
    if user is None:
        print(f"app.admin: no account for {args.email!r}", file=sys.stderr)
        return 1
    status = "now an admin" if promote else "no longer an admin"
    print(f"{user.email} (user {user.id}) is {status}.")
    return 0
