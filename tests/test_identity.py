"""One address, one account: sign-up, login and e-mail changes agree on what an address is.

The canonical form (API.md, "Field rules"): surrounding spaces removed, Unicode NFC, one IDNA
form of the domain, then full case folding (`str.casefold()`, so "İ" is not "i").
"""

import unicodedata

import pytest
from httpx import AsyncClient
from hypothesis import given
from hypothesis import strategies as st

from app.models import email_key
from app.models.users import _validated_key
from tests.factories import DEFAULT_PASSWORD, bearer, create_user, login

NFC = unicodedata.normalize("NFC", "jos\u00e9@example.com")  # é as one character
NFD = unicodedata.normalize("NFD", NFC)  # e followed by a combining accent

# (address at sign-up, another spelling of the same address)
SAME_ADDRESS = [
    (NFC, NFD),
    (NFD, NFC),
    ("anna@b\u00fccher.example", "anna@xn--bcher-kva.example"),
    ("anna@xn--bcher-kva.example", "Anna@B\u00dcCHER.example"),
    ("maria@example.com", "  maria@example.com  "),
    ("Maria@Example.COM", "mARIA@example.com"),
    ("stra\u00dfe@example.com", "STRASSE@example.com"),  # full case folding: ß is ss
]
DIFFERENT_ADDRESS = [
    ("victim@example.com", "v\u0130ctim@example.com"),  # İ folds to i + a dot, not to i
    ("anna@example.com", "anna@example.org"),
    ("anna@example.com", "anna.b@example.com"),
]


def test_the_canonical_form() -> None:
    assert email_key("  Jose\u0301@Example.COM ") == "jos\u00e9@example.com"
    assert email_key("x@xn--bcher-kva.example") == email_key("X@B\u00fccher.Example")
    assert email_key("v\u0130ctim@example.com") != email_key("victim@example.com")
    assert email_key("not an address") == "not an address"


# ASCII text: addresses (a local part, labels of a domain, some of them Punycode "xn--", the
# one ASCII spelling with another IDNA form) and text that is not one.
_PIECE = st.text(st.sampled_from("aZ09.-_+ "), max_size=6)
_LABEL = st.sampled_from(["example", "EXAMPLE", "xn--bcher-kva", "XN--BCHER-KVA", "xn--a", "co"])
_ASCII_ADDRESS = st.builds(
    lambda local, labels: f"{local}@{'.'.join(labels)}", _PIECE, st.lists(_LABEL, max_size=3)
) | st.text(st.characters(max_codepoint=127))


@given(_ASCII_ADDRESS)
def test_the_ascii_shortcut_gives_the_validated_key(address: str) -> None:
    # Every login computes the key of the address it names; an ASCII one skips email-validator
    # (app/models/users.py) and must come out exactly as if it had not.
    assert email_key(address) == _validated_key(address.strip())


@pytest.mark.parametrize(("registered", "spelling"), SAME_ADDRESS)
async def test_another_spelling_is_the_same_account_at_sign_up_and_login(
    client: AsyncClient, registered: str, spelling: str
) -> None:
    user = await create_user(client, email=registered)
    again = await client.post("/users", json={"email": spelling, "password": DEFAULT_PASSWORD})
    assert again.status_code == 409, again.text
    assert again.json() == {"detail": "Email already registered"}
    # Any spelling logs in to that one account.
    token = await login(client, spelling)
    me = await client.get("/users/me", headers=bearer(token))
    assert me.json()["id"] == user["id"]


@pytest.mark.parametrize(("registered", "other"), DIFFERENT_ADDRESS)
async def test_a_different_address_is_a_different_account(
    client: AsyncClient, registered: str, other: str
) -> None:
    await create_user(client, email=registered)
    refused = await client.post("/login", data={"username": other, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 401
    created = await client.post("/users", json={"email": other, "password": DEFAULT_PASSWORD})
    assert created.status_code == 201, created.text


async def test_the_address_is_kept_as_written_and_normalized(client: AsyncClient) -> None:
    user = await create_user(client, email=" " + NFD.upper().replace("EXAMPLE", "Example") + " ")
    assert user["email"] == unicodedata.normalize("NFC", "JOS\u00c9@example.com")


@pytest.mark.parametrize(("registered", "spelling"), SAME_ADDRESS[:4])
async def test_changing_to_another_spelling_of_a_taken_address_is_409(
    client: AsyncClient, registered: str, spelling: str
) -> None:
    await create_user(client, email=registered)
    other = await create_user(client)
    headers = bearer(await login(client, other["email"]))
    body = {"email": spelling, "current_password": DEFAULT_PASSWORD}
    response = await client.patch("/users/me", json=body, headers=headers)
    assert response.status_code == 409, response.text


async def test_changing_ones_own_address_to_another_spelling_of_it_works(
    client: AsyncClient,
) -> None:
    user = await create_user(client, email="maria@example.com")
    headers = bearer(await login(client, user["email"]))
    body = {"email": "Maria@Example.com", "current_password": DEFAULT_PASSWORD}
    response = await client.patch("/users/me", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "Maria@example.com"
    assert (await login(client, "MARIA@EXAMPLE.COM")) != ""
