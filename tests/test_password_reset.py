"""Password reset by e-mail (API.md, "Password reset"), through a real SMTP server (aiosmtpd)
that each test starts on a free local port: the message it received is read back, and its
token is used as a client would."""

import asyncio
import logging
import os
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from aiosmtpd.smtp import Session as SMTPSession
from httpx import AsyncClient
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.logging import RequestIdFilter
from app.models import utcnow
from tests.checks import assert_unauthorized
from tests.conftest import TEST_DB
from tests.factories import DEFAULT_PASSWORD, bearer, create_user, login, try_login
from tests.live_server import SERVE, free_port, running
from tests.test_sessions import slow_down_password_check

ON_ITS_WAY = {"message": "If the address has an account, a reset link is on its way"}
INVALID = {"detail": "Invalid or expired reset token"}
NEW_PASSWORD = "a new password, chosen"
RESET_URL = "https://app.example/reset?token={token}"


class Mailbox:
    """What the SMTP server received: (envelope, parsed message) pairs."""

    def __init__(self) -> None:
        self.received: list[tuple[Envelope, Message]] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: SMTPSession, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.received.append((envelope, message_from_bytes(envelope.content)))
        self.arrived.set()
        return "250 OK"

    def only(self) -> tuple[Envelope, Message]:
        assert len(self.received) == 1, [m["To"] for _, m in self.received]
        return self.received[0]


def token_in(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"https://app\.example/reset\?token=([A-Za-z0-9_-]+)", body.decode())
    assert found, body
    assert re.search(rf"^    {found.group(1)}\r?$", body.decode(), re.M)  # and as a plain token
    return found.group(1)


def send_email_to(monkeypatch: pytest.MonkeyPatch, port: int, **more: Any) -> None:
    """The app's e-mail settings (for this test): SMTP to 127.0.0.1:`port`, no TLS unless
    `more` says otherwise."""
    for name, value in {
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_SECURITY": "none",
        "SMTP_TIMEOUT": 5.0,
        "EMAIL_FROM": "Posts <no-reply@posts.example>",
        "PASSWORD_RESET_URL": RESET_URL,
        **more,
    }.items():
        monkeypatch.setattr(settings, name, value)


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server on a free local port (no TLS), and the app's settings pointing at it."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    send_email_to(monkeypatch, controller.port)
    try:
        yield box
    finally:
        controller.stop()


async def ask_reset(client: AsyncClient, email: str) -> httpx.Response:
    response = await client.post("/password-reset", json={"email": email})
    assert response.status_code == 202, response.text
    assert response.json() == ON_ITS_WAY
    return response


async def confirm(client: AsyncClient, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
    return await client.post(
        "/password-reset/confirm", json={"token": token, "new_password": password}
    )


async def test_the_reset_email_arrives_and_its_token_sets_a_new_password(
    client: AsyncClient, mailbox: Mailbox
) -> None:
    user = await create_user(client, email="Reader@Example.com")
    old_session = bearer(await login(client, user["email"]))

    await ask_reset(client, "  reader@EXAMPLE.com ")  # any spelling of the address
    envelope, message = mailbox.only()
    assert user["email"] == "Reader@example.com"  # as stored (email-validator's form)
    assert envelope.rcpt_tos == [user["email"]]  # the account's own address
    assert envelope.mail_from == "no-reply@posts.example"
    assert message["To"] == user["email"]
    assert message["From"] == "Posts <no-reply@posts.example>"
    assert message["Subject"] == "Reset your password"
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes) and "30 minutes" in body.decode()
    token = token_in(message)
    assert len(token) >= 43  # 256 random bits

    response = await confirm(client, token)
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Password updated"}
    assert_unauthorized(await client.get("/users/me", headers=old_session))  # sessions ended
    assert (await try_login(client, user["email"])).status_code == 401
    fresh = bearer(await login(client, user["email"], NEW_PASSWORD))
    assert (await client.get("/users/me", headers=fresh)).status_code == 200


async def test_a_token_works_once(client: AsyncClient, mailbox: Mailbox) -> None:
    user = await create_user(client)
    await ask_reset(client, user["email"])
    token = token_in(mailbox.only()[1])
    assert (await confirm(client, token)).status_code == 200
    again = await confirm(client, token, "yet another password")
    assert again.status_code == 400 and again.json() == INVALID
    await login(client, user["email"], NEW_PASSWORD)


async def test_an_unknown_address_gets_the_same_answer_and_no_email(
    client: AsyncClient, mailbox: Mailbox
) -> None:
    user = await create_user(client)
    known = await client.post("/password-reset", json={"email": user["email"]})
    unknown = await client.post("/password-reset", json={"email": "nobody@example.com"})
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    assert set(known.headers) - {"x-request-id"} == set(unknown.headers) - {"x-request-id"}
    assert [envelope.rcpt_tos for envelope, _ in mailbox.received] == [[user["email"]]]


async def test_a_newer_request_retires_the_older_token(
    client: AsyncClient, mailbox: Mailbox
) -> None:
    user = await create_user(client)
    await ask_reset(client, user["email"])
    await ask_reset(client, user["email"])
    older, newer = (token_in(message) for _, message in mailbox.received)
    assert older != newer
    assert (await confirm(client, older)).json() == INVALID
    assert (await confirm(client, newer)).status_code == 200


async def test_a_password_change_retires_pending_tokens(
    client: AsyncClient, mailbox: Mailbox
) -> None:
    user = await create_user(client)
    headers = bearer(await login(client, user["email"]))
    await ask_reset(client, user["email"])
    change = {"password": "changed by hand", "current_password": DEFAULT_PASSWORD}
    assert (await client.patch("/users/me", json=change, headers=headers)).status_code == 200
    assert (await confirm(client, token_in(mailbox.only()[1]))).json() == INVALID


async def test_an_expired_token_is_400(
    client: AsyncClient, mailbox: Mailbox, session: AsyncSession
) -> None:
    user = await create_user(client)
    await ask_reset(client, user["email"])
    await session.exec(  # type: ignore[call-overload]
        text("UPDATE password_reset_tokens SET expires_at = :at"),
        params={"at": utcnow() - timedelta(seconds=1)},
    )
    await session.commit()
    response = await confirm(client, token_in(mailbox.only()[1]))
    assert response.status_code == 400 and response.json() == INVALID
    await login(client, user["email"])  # the password is unchanged


async def test_made_up_tokens_are_400(client: AsyncClient) -> None:
    for token in ("x", "A" * 43, "not even base64 !"):
        response = await confirm(client, token)
        assert response.status_code == 400 and response.json() == INVALID, token


async def test_password_rules_are_checked_before_the_token(client: AsyncClient) -> None:
    for password in ("Secr3t!", "é" * 37):  # 7 characters; 74 bytes in UTF-8
        response = await confirm(client, "whatever", password)
        assert response.status_code == 422, response.text
        assert password not in response.text  # secrets are never echoed
    for body in ({}, {"token": "t"}, {"new_password": NEW_PASSWORD}, {"token": 5}):
        response = await client.post("/password-reset/confirm", json=body)
        assert response.status_code == 422, (body, response.text)


async def test_a_bad_address_is_422(client: AsyncClient) -> None:
    for body in ({}, {"email": "not an address"}, {"email": 5}):
        response = await client.post("/password-reset", json=body)
        assert response.status_code == 422, (body, response.text)


async def disable_in_database(session: AsyncSession, user_id: int) -> None:
    """As an admin's PATCH would (without making an admin: tests/test_admin.py does that)."""
    await session.exec(  # type: ignore[call-overload]
        text("UPDATE users SET disabled = true WHERE id = :id"), params={"id": user_id}
    )
    await session.commit()


async def test_a_disabled_account_gets_no_email(
    client: AsyncClient, mailbox: Mailbox, session: AsyncSession
) -> None:
    user = await create_user(client)
    await disable_in_database(session, user["id"])
    await ask_reset(client, user["email"])
    assert mailbox.received == []


async def test_a_pending_link_stops_working_when_the_account_is_disabled(
    client: AsyncClient, mailbox: Mailbox, session: AsyncSession
) -> None:
    user = await create_user(client)
    await ask_reset(client, user["email"])
    await disable_in_database(session, user["id"])
    response = await confirm(client, token_in(mailbox.only()[1]))
    assert response.status_code == 400 and response.json() == INVALID


async def test_concurrent_confirms_with_one_token_reset_once(
    client: AsyncClient, mailbox: Mailbox
) -> None:
    user = await create_user(client)
    await ask_reset(client, user["email"])
    token = token_in(mailbox.only()[1])
    responses = await asyncio.gather(
        *(confirm(client, token, f"password no {i}") for i in range(3))
    )
    assert sorted(r.status_code for r in responses) == [200, 400, 400], [r.text for r in responses]
    (winner,) = [i for i, r in enumerate(responses) if r.status_code == 200]
    await login(client, user["email"], f"password no {winner}")


async def test_a_login_racing_a_reset_never_yields_a_working_token(
    client: AsyncClient, mailbox: Mailbox
) -> None:
    for attempt in range(5):
        user = await create_user(client)
        mailbox.received.clear()
        await ask_reset(client, user["email"])
        token = token_in(mailbox.only()[1])
        logged_in, reset = await asyncio.gather(
            try_login(client, user["email"]),
            confirm(client, token, f"reset password {attempt}"),
        )
        assert reset.status_code == 200, reset.text
        assert logged_in.status_code in (200, 401), logged_in.text
        if logged_in.status_code == 200:
            assert_unauthorized(
                await client.get("/users/me", headers=bearer(logged_in.json()["access_token"]))
            )


async def test_an_email_change_retires_pending_tokens(
    client: AsyncClient, mailbox: Mailbox
) -> None:
    """A link mailed to the old address stops working once the address has changed; one asked
    for at the new address works."""
    user = await create_user(client)
    headers = bearer(await login(client, user["email"]))
    await ask_reset(client, user["email"])
    old_token = token_in(mailbox.only()[1])
    change = {"email": "moved@example.com", "current_password": DEFAULT_PASSWORD}
    assert (await client.patch("/users/me", json=change, headers=headers)).status_code == 200
    assert (await confirm(client, old_token)).json() == INVALID
    await login(client, "moved@example.com")  # the password is unchanged

    mailbox.received.clear()
    await ask_reset(client, "moved@example.com")
    assert (await confirm(client, token_in(mailbox.only()[1]))).status_code == 200
    await login(client, "moved@example.com", NEW_PASSWORD)


async def test_a_link_asked_for_during_an_email_change_never_outlives_it(
    client: AsyncClient, mailbox: Mailbox
) -> None:
    """A reset link asked for at the old address at the moment the address changes: the link
    is mailed (it was asked before the change) but stops working with the change, whichever
    came first."""
    for attempt in range(ACCOUNT_RACES * 4):
        user = await create_user(client)
        headers = bearer(await login(client, user["email"]))
        mailbox.received.clear()
        change = {"email": f"moved-{attempt}@example.com", "current_password": DEFAULT_PASSWORD}
        changed, _ = await asyncio.gather(
            client.patch("/users/me", json=change, headers=headers),
            ask_reset(client, user["email"]),
        )
        assert changed.status_code == 200, changed.text
        for _, message in mailbox.received:
            assert (await confirm(client, token_in(message))).json() == INVALID


async def confirm_soon(client: AsyncClient, token: str, password: str) -> httpx.Response:
    await asyncio.sleep(0.01)  # the change's password check is under way
    return await confirm(client, token, password)


ACCOUNT_RACES = 5  # timing games: each runs this many times


@pytest.mark.parametrize("field", ["password", "email"])
async def test_a_change_in_flight_never_undoes_a_completed_reset(
    client: AsyncClient, mailbox: Mailbox, session: AsyncSession, field: str
) -> None:
    """Someone with a session and the password (a thief) changes the password or the address
    while the owner resets the password: the change's password check (slowed down by a
    higher bcrypt cost for this account) is under way when the reset completes. The reset
    ended the thief's session, so the change must not land (401): the owner's new password
    works, the address stays. (Should the change complete first, it retires the reset's token:
    400, and the change stands.)"""
    resets_first = 0
    for attempt in range(ACCOUNT_RACES):
        user = await create_user(client)
        thief = bearer(await login(client, user["email"]))
        mailbox.received.clear()
        await ask_reset(client, user["email"])
        token = token_in(mailbox.only()[1])
        await slow_down_password_check(session, user["id"], rounds=10)
        wanted = f"thief-{attempt}@example.com" if field == "email" else f"thief's {attempt}"
        change = {field: wanted, "current_password": DEFAULT_PASSWORD}
        owners = f"owner's password {attempt}"
        changed, reset = await asyncio.gather(
            client.patch("/users/me", json=change, headers=thief),
            confirm_soon(client, token, owners),
        )
        if reset.status_code == 200:
            resets_first += 1
            assert_unauthorized(changed)
            await login(client, user["email"], owners)
        else:
            assert reset.json() == INVALID and changed.status_code == 200, changed.text
    assert resets_first > 0  # the race this test is about did happen


async def test_a_reset_in_flight_fails_once_the_address_changed(
    client: AsyncClient, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other direction: the reset's new password is being hashed (at a higher bcrypt cost)
    when an e-mail change completes. The change retired the token (it was mailed to the old
    address): the reset fails with 400 and the password stays."""
    changes_first = 0
    for attempt in range(ACCOUNT_RACES):
        monkeypatch.setattr(settings, "BCRYPT_ROUNDS", 4)
        user = await create_user(client)
        headers = bearer(await login(client, user["email"]))
        mailbox.received.clear()
        await ask_reset(client, user["email"])
        token = token_in(mailbox.only()[1])
        monkeypatch.setattr(settings, "BCRYPT_ROUNDS", 10)  # the reset's hash, not the check
        moved = f"moved-{attempt}@example.com"
        change = {"email": moved, "current_password": DEFAULT_PASSWORD}
        reset, changed = await asyncio.gather(
            confirm(client, token),
            change_soon(client, change, headers),
        )
        if changed.status_code == 200:
            changes_first += 1
            assert reset.status_code == 400 and reset.json() == INVALID, reset.text
            await login(client, moved)
        else:
            assert reset.status_code == 200 and changed.status_code == 401, changed.text
    assert changes_first > 0


async def change_soon(
    client: AsyncClient, change: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    await asyncio.sleep(0.005)  # the reset's hash is under way
    return await client.patch("/users/me", json=change, headers=headers)


# --- the mail server misbehaving --------------------------------------------------------------


async def test_a_mail_server_that_is_down_changes_nothing_and_is_logged(
    client: AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    user = await create_user(client)
    send_email_to(monkeypatch, free_port())  # nothing listens there
    # The request id the app's log handler adds to each line (app/core/logging.py).
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.ERROR, "app.email"):
        response = await ask_reset(client, user["email"])
    (record,) = [r for r in caplog.records if r.name == "app.email"]
    assert f"e-mail to {user['email']} not sent" in record.getMessage()
    assert record.request_id == response.headers["x-request-id"]
    await login(client, user["email"])  # nothing changed


@pytest.fixture
def silent_mail_server() -> Iterator[int]:
    """A port that accepts connections and never says a word (no SMTP greeting)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.listen()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


async def test_a_mail_server_that_never_answers_does_not_hold_the_response(
    client: AsyncClient, silent_mail_server: int, tmp_path: Path
) -> None:
    """On the real server, the e-mail goes out after the response is written: the client gets
    its 202 while the mail server has not even greeted (its timeout is a minute away)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DB.url,
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(silent_mail_server),
        "SMTP_SECURITY": "none",
        "SMTP_TIMEOUT": "60",
    }
    with running(["-c", SERVE, str(port)], env, tmp_path / "server.log", port=port) as base_url:
        email = "patient@example.com"
        async with httpx.AsyncClient(base_url=base_url, timeout=20) as live:
            created = await live.post("/users", json={"email": email, "password": "x" * 10})
            assert created.status_code == 201, created.text
            for address in (email, "nobody@example.com"):
                response = await live.post("/password-reset", json={"email": address})
                assert response.status_code == 202 and response.json() == ON_ITS_WAY
            assert (await live.get("/health")).status_code == 200


# --- STARTTLS with a login, as a real provider wants it ----------------------------------------


class _Credentials:
    def __init__(self, username: str, password: str) -> None:
        self.expected = (username.encode(), password.encode())

    def __call__(
        self, server: Any, session: SMTPSession, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == self.expected:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


async def test_starttls_and_login(
    client: AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the app trusts this test's CA only

    box = Mailbox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_context,
        require_starttls=True,
        authenticator=_Credentials("mailer", "s3cret"),
        auth_require_tls=True,
    )
    controller.start()
    try:
        send_email_to(
            monkeypatch,
            controller.port,
            SMTP_SECURITY="starttls",
            SMTP_USERNAME="mailer",
            SMTP_PASSWORD="s3cret",
        )
        user = await create_user(client)
        await ask_reset(client, user["email"])
        envelope, message = box.only()
        assert envelope.rcpt_tos == [user["email"]]
        assert (await confirm(client, token_in(message))).status_code == 200
    finally:
        controller.stop()


async def test_production_with_the_console_backend_starts_and_warns(
    client: AsyncClient, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DB.url,
        "ENVIRONMENT": "production",
        "SECRET_KEY": "a-production-secret-key-of-more-than-32-bytes",
        "EMAIL_BACKEND": "console",
        "LOG_FORMAT": "json",
    }
    log_path = tmp_path / "server.log"
    with running(["-c", SERVE, str(port)], env, log_path, port=port) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as live:
            assert (await live.get("/health")).status_code == 200
    warnings = [line for line in log_path.read_text().splitlines() if "EMAIL_BACKEND" in line]
    assert len(warnings) == 1, log_path.read_text()
    assert '"level": "WARNING"' in warnings[0] and "no e-mail will leave" in warnings[0]
