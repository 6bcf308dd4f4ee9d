"""Bad input never gives a 5xx or a stack trace: always a clear 4xx with a JSON `detail`.

Covers malformed and mistyped bodies, text PostgreSQL cannot store (NUL, lone surrogates, also
percent-encoded in queries and forms), invalid UTF-8, titles with nothing visible, out-of-range
ids, bodies over 1 MiB (with and without Content-Length), unknown paths and methods, trailing
slashes (redirects that never name the client's Host), secrets never echoed, the security
headers, CORS refusals in JSON. What uvicorn answers itself: tests/test_malformed_http.py.
"""

import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import security
from app.core.config import settings
from app.main import create_app
from tests.factories import new_account
from tests.test_admin import new_admin

MiB = 1024 * 1024
MAX_ID = 2**31 - 1
JSON = {"content-type": "application/json"}
TEXT = {"content-type": "text/plain"}
POST = {"title": "A title", "content": "Some content"}
USER = {"email": "someone@example.com", "password": "a good password", "name": "Someone"}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(response: Response) -> Any:
    """The body parsed as RFC 8259 JSON: UTF-8, and no NaN or Infinity."""
    return json.loads(response.content.decode("utf-8"), parse_constant=_refuse_constant)


def assert_error(response: Response, status: int) -> Any:
    """A JSON error of this status, in the contract's shape; returns its `detail`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    body = strict_json(response)
    assert set(body) == {"detail"}
    if status == 422:
        assert isinstance(body["detail"], list) and body["detail"]
        for error in body["detail"]:
            assert {"loc", "msg", "type"} <= set(error)
    else:
        assert isinstance(body["detail"], str) and body["detail"]
    return body["detail"]


def assert_refused_field(response: Response, field: str) -> None:
    detail = assert_error(response, 422)
    assert any(error["loc"][-1] == field for error in detail), detail


def _json_of_size(size: int) -> bytes:
    """A POST /posts body of exactly `size` bytes (its content far over 10,000 characters)."""
    empty = json.dumps({**POST, "content": ""}).encode()
    body = json.dumps({**POST, "content": "x" * (size - len(empty))}).encode()
    assert len(body) == size
    return body


async def _chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.fixture
async def headers(client: AsyncClient) -> dict[str, str]:
    return (await new_account(client))["headers"]


# --- malformed and mistyped bodies -------------------------------------------------------


def _operations(document: dict[str, Any], media_type: str) -> list[tuple[str, str]]:
    """(method, path) of every operation whose request body is `media_type`, from the OpenAPI
    document: a new endpoint is covered without being listed here."""
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if media_type in operation.get("requestBody", {}).get("content", {})
    ]


def _concrete(path: str) -> str:
    """`/posts/{post_id}` -> `/posts/1`."""
    return re.sub(r"\{[^/]+\}", "1", path)


OPENAPI = create_app().openapi()
JSON_OPERATIONS = _operations(OPENAPI, "application/json")
MALFORMED_JSON = {
    "truncated": b'{"title": ',
    "open brace": b"{",
    "trailing garbage": b'{"title": "A title"} x',
    "two documents": b"{}{}",
    "single quotes": b"{'title': 'A title'}",
    "trailing comma": b'{"a": 1,}',
    "bare word": b"nope",
}


def test_every_json_endpoint_is_found() -> None:
    assert len(JSON_OPERATIONS) >= 10 and ("POST", "/posts") in JSON_OPERATIONS
    for method, path in JSON_OPERATIONS:  # and each declares the 400 it may answer
        assert "400" in OPENAPI["paths"][path][method.lower()]["responses"], (method, path)


@pytest.fixture
async def admin_headers(client: AsyncClient, session: AsyncSession) -> dict[str, str]:
    """An admin's: every route gets as far as its body."""
    return dict((await new_admin(client, session))["headers"])


@pytest.mark.parametrize(("method", "path"), JSON_OPERATIONS)
async def test_malformed_json_is_400_on_every_json_endpoint(
    client: AsyncClient, admin_headers: dict[str, str], method: str, path: str
) -> None:
    headers = admin_headers
    for name, body in MALFORMED_JSON.items():
        response = await client.request(
            method, _concrete(path), content=body, headers={**headers, **JSON}
        )
        assert assert_error(response, 400) == "There was an error parsing the body", name
    # Well-formed JSON that breaks the body's rules is still 422.
    for body in (b"42", b'"a string"', b"true"):
        response = await client.request(
            method, _concrete(path), content=body, headers={**headers, **JSON}
        )
        assert_error(response, 422)


@pytest.mark.parametrize("path", ["/posts", "/users"])
@pytest.mark.parametrize("body", [[], [POST], 42, "a string", None, True])
async def test_json_that_is_not_an_object_is_422(
    client: AsyncClient, headers: dict[str, str], path: str, body: Any
) -> None:
    response = await client.post(path, content=json.dumps(body), headers={**headers, **JSON})
    assert_error(response, 422)


async def test_empty_body_is_422(client: AsyncClient, headers: dict[str, str]) -> None:
    assert_error(await client.post("/posts", headers={**headers, **JSON}), 422)


async def test_json_sent_as_text_plain_is_422(client: AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post(
        "/posts",
        content=json.dumps(POST),
        headers={**headers, "content-type": "text/plain"},
    )
    assert_error(response, 422)


async def test_json_sent_without_content_type_is_422(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/posts", content=json.dumps(POST), headers=headers)
    assert "content-type" not in response.request.headers
    assert_error(response, 422)


@pytest.mark.parametrize("files", [None, {"file": b"data"}], ids=["urlencoded", "multipart"])
async def test_form_on_a_json_endpoint_is_422(
    client: AsyncClient, headers: dict[str, str], files: dict[str, bytes] | None
) -> None:
    response = await client.post("/posts", data=POST, files=files, headers=headers)
    assert_error(response, 422)


@pytest.mark.parametrize("path", ["/posts", "/users"])
async def test_invalid_utf8_in_a_json_body_is_400(
    client: AsyncClient, headers: dict[str, str], path: str
) -> None:
    body = b'{"title": "caf\xe9", "content": "\xff\xfe", "email": "\xc3(@example.com"}'
    response = await client.post(path, content=body, headers={**headers, **JSON})
    assert_error(response, 400)


# --- text that PostgreSQL cannot store ---------------------------------------------------

TEXT_FIELDS = [
    ("/posts", POST, "title"),
    ("/posts", POST, "content"),
    ("/users", USER, "name"),
    ("/users", USER, "email"),
    ("/users", USER, "password"),
]


@pytest.mark.parametrize(("path", "valid", "field"), TEXT_FIELDS)
async def test_nul_character_in_a_json_field_is_422(
    client: AsyncClient, headers: dict[str, str], path: str, valid: dict[str, str], field: str
) -> None:
    body = {**valid, field: valid[field][:4] + "\u0000" + valid[field][4:]}
    response = await client.post(path, json=body, headers=headers)
    assert_refused_field(response, field)


@pytest.mark.parametrize(("path", "valid", "field"), TEXT_FIELDS)
async def test_lone_surrogate_in_a_json_field_is_422_with_a_json_body(
    client: AsyncClient, headers: dict[str, str], path: str, valid: dict[str, str], field: str
) -> None:
    # json.dumps escapes the surrogate as \ud800, as a client's JSON encoder would.
    body = json.dumps({**valid, field: valid[field][:4] + "\ud800" + valid[field][4:]})
    assert "\\ud800" in body
    response = await client.post(path, content=body.encode(), headers={**headers, **JSON})
    assert_refused_field(response, field)


async def test_lone_surrogate_sent_as_raw_bytes_is_422(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    body = b'{"title": "a\\ud800", "content": "x"}'
    response = await client.post("/posts", content=body, headers={**headers, **JSON})
    assert_refused_field(response, "title")


async def test_a_proper_surrogate_pair_is_accepted(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    body = b'{"title": "smile \\ud83d\\ude00", "content": "x"}'
    response = await client.post("/posts", content=body, headers={**headers, **JSON})
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "smile \U0001f600"


async def test_nul_character_in_the_search_query_is_422(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/posts?search=a%00b", headers=headers)
    assert_refused_field(response, "search")


@pytest.mark.parametrize("field", ["username", "password"])
async def test_nul_character_in_the_login_form_is_422(client: AsyncClient, field: str) -> None:
    form = {"username": "someone@example.com", "password": "a good password"}
    form[field] = form[field][:4] + "\x00" + form[field][4:]
    response = await client.post("/login", data=form)
    assert_refused_field(response, field)


# --- numbers ---------------------------------------------------------------------------

OUT_OF_RANGE_IDS = ["0", "-1", str(MAX_ID + 1), str(2**63), str(10**30), "9" * 5000]


@pytest.mark.parametrize("path", ["/posts/{}", "/users/{}"])
@pytest.mark.parametrize("value", OUT_OF_RANGE_IDS, ids=lambda value: value[:12])
async def test_path_id_out_of_range_is_422(
    client: AsyncClient, headers: dict[str, str], path: str, value: str
) -> None:
    response = await client.get(path.format(value), headers=headers)
    assert_error(response, 422)


@pytest.mark.parametrize("path", ["/posts/{}", "/users/{}"])
async def test_path_id_at_the_top_of_the_range_is_404(
    client: AsyncClient, headers: dict[str, str], path: str
) -> None:
    assert_error(await client.get(path.format(MAX_ID), headers=headers), 404)


@pytest.mark.parametrize("post_id", [0, -1, MAX_ID + 1, 10**30])
async def test_vote_post_id_out_of_range_is_422(
    client: AsyncClient, headers: dict[str, str], post_id: int
) -> None:
    response = await client.post("/vote", json={"post_id": post_id, "dir": 1}, headers=headers)
    assert_refused_field(response, "post_id")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/vote", b'{"post_id": 1e400, "dir": 1}'),
        ("/vote", b'{"post_id": -1e400, "dir": 1}'),
        ("/vote", b'{"post_id": NaN, "dir": 1}'),
        ("/posts", b'{"title": 1e400, "content": "x"}'),
    ],
    ids=["infinity", "minus-infinity", "nan", "infinite-title"],
)
async def test_non_finite_number_is_422_with_a_strict_json_body(
    client: AsyncClient, headers: dict[str, str], path: str, body: bytes
) -> None:
    # 1e400 is valid JSON; echoing it back as `Infinity` is not (RFC 8259 has no such token).
    response = await client.post(path, content=body, headers={**headers, **JSON})
    assert_error(response, 422)


# --- bodies over 1 MiB -------------------------------------------------------------------


async def test_body_over_1_mib_with_content_length_is_413(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    body = _json_of_size(2 * MiB)
    response = await client.post("/posts", content=body, headers={**headers, **JSON})
    assert response.request.headers["content-length"] == str(len(body))
    assert_error(response, 413)


async def test_body_over_1_mib_streamed_without_content_length_is_413(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    body = _json_of_size(2 * MiB)
    response = await client.post("/posts", content=_chunks(body), headers={**headers, **JSON})
    assert "content-length" not in response.request.headers
    assert_error(response, 413)


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "streamed"])
async def test_body_one_byte_over_1_mib_is_413(
    client: AsyncClient, headers: dict[str, str], streamed: bool
) -> None:
    body = _json_of_size(MiB + 1)
    content = _chunks(body) if streamed else body
    response = await client.post("/posts", content=content, headers={**headers, **JSON})
    assert_error(response, 413)


@pytest.mark.parametrize("size", [MiB - 1, MiB], ids=["just-under", "exactly"])
@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "streamed"])
async def test_body_up_to_1_mib_is_read_and_validated(
    client: AsyncClient, headers: dict[str, str], size: int, streamed: bool
) -> None:
    body = _json_of_size(size)
    content = _chunks(body) if streamed else body
    response = await client.post("/posts", content=content, headers={**headers, **JSON})
    assert_refused_field(response, "content")  # over 10,000 characters, but not a 413


async def test_login_form_over_1_mib_is_413(client: AsyncClient) -> None:
    form = {"username": "someone@example.com", "password": "x" * (2 * MiB)}
    assert_error(await client.post("/login", data=form), 413)


# --- paths and methods -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/posts/1/likes", "/users/me/posts", "/api/posts"])
async def test_unknown_path_is_404(client: AsyncClient, headers: dict[str, str], path: str) -> None:
    response = await client.get(path, headers=headers)
    assert assert_error(response, 404) == "Not Found"


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/posts"), ("PUT", "/posts"), ("GET", "/login"), ("GET", "/vote")],
)
async def test_wrong_method_is_405(
    client: AsyncClient, headers: dict[str, str], method: str, path: str
) -> None:
    response = await client.request(method, path, headers=headers)
    assert assert_error(response, 405) == "Method Not Allowed"


async def test_trailing_slash_redirects_to_the_canonical_path(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/posts/?limit=5", headers=headers)
    assert response.status_code == 307
    assert response.headers["location"] == "/posts?limit=5"
    followed = await client.get("/posts/", headers=headers, follow_redirects=True)
    assert followed.status_code == 200 and followed.json() == []


@pytest.mark.parametrize("path", ["/users/me/", "/posts/", "/posts/1/"])
async def test_a_redirect_never_names_the_host_the_client_sent(
    client: AsyncClient, headers: dict[str, str], path: str
) -> None:
    response = await client.get(path, headers={**headers, "Host": "evil.example"})
    assert response.status_code == 307
    assert response.headers["location"] == path.rstrip("/")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/posts/"),
        ("POST", "/posts/"),
        ("GET", "/users/me/"),
        ("POST", "/users/"),
        ("POST", "/login/"),
        ("POST", "/vote/"),
    ],
)
@pytest.mark.parametrize("authenticated", [True, False], ids=["auth", "anonymous"])
async def test_trailing_slash_never_gives_a_5xx(
    client: AsyncClient, headers: dict[str, str], method: str, path: str, authenticated: bool
) -> None:
    response = await client.request(
        method, path, json=POST, headers=headers if authenticated else None
    )
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text


# --- the sweep: no traceback anywhere ----------------------------------------------------

RequestKwargs = Callable[[], dict[str, Any]]
BAD_REQUESTS: list[tuple[str, str, str, RequestKwargs]] = [
    ("malformed-json", "POST", "/posts", lambda: {"content": b'{"title": ', "headers": JSON}),
    ("array-body", "POST", "/users", lambda: {"json": [USER]}),
    ("text-plain", "POST", "/posts", lambda: {"content": b"{}", "headers": TEXT}),
    ("multipart", "POST", "/posts", lambda: {"data": POST, "files": {"f": b"x"}}),
    ("invalid-utf8", "POST", "/posts", lambda: {"content": b'{"title": "\xff"}', "headers": JSON}),
    ("nul-title", "POST", "/posts", lambda: {"json": {**POST, "title": "a\x00b"}}),
    ("nul-email", "POST", "/users", lambda: {"json": {**USER, "email": "a\x00@example.com"}}),
    ("surrogate", "POST", "/posts", lambda: {"content": b'{"title": "\\udc00"}', "headers": JSON}),
    ("nul-search", "GET", "/posts?search=a%00b", dict),
    ("nul-login", "POST", "/login", lambda: {"data": {"username": "\x00", "password": "x"}}),
    ("huge-id", "GET", f"/posts/{10**30}", dict),
    ("zero-id", "GET", "/users/0", dict),
    ("huge-json-int", "POST", "/vote", lambda: {"content": b"9" * 5000, "headers": JSON}),
    ("deep-json", "POST", "/posts", lambda: {"content": b"[" * 10**5, "headers": JSON}),
    ("too-big", "POST", "/posts", lambda: {"content": _json_of_size(2 * MiB), "headers": JSON}),
    ("too-big-streamed", "POST", "/posts", lambda: {"content": _chunks(b"x" * 2 * MiB)}),
    ("bad-limit", "GET", "/posts?limit=1000&skip=-1", dict),
    ("unknown-path", "GET", "/nope", dict),
    ("wrong-method", "DELETE", "/posts", dict),
    ("bad-token", "GET", "/users/me", lambda: {"headers": {"Authorization": "Bearer x.y.z"}}),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [pytest.param(method, path, kwargs, id=name) for name, method, path, kwargs in BAD_REQUESTS],
)
async def test_no_error_body_carries_a_traceback(
    client: AsyncClient, headers: dict[str, str], method: str, path: str, kwargs: RequestKwargs
) -> None:
    request = kwargs()
    request["headers"] = {**headers, **request.get("headers", {})}
    response = await client.request(method, path, **request)
    assert 400 <= response.status_code < 500, response.text
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    assert "detail" in strict_json(response)


# --- text that is not text ----------------------------------------------------------------

ENCODED_SURROGATE = "%ED%A0%80"  # U+D800 in UTF-8's form, which is not UTF-8


async def test_a_percent_encoded_lone_surrogate_in_the_query_is_422(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(f"/posts?search=a{ENCODED_SURROGATE}b", headers=headers)
    detail = assert_error(response, 422)
    assert [error["loc"] for error in detail] == [["query", "search"]]
    for raw in ("%FF", "%C3%28", "%E2%82"):  # other byte sequences that are not UTF-8
        response = await client.get(f"/posts?search={raw}", headers=headers)
        assert_error(response, 422)
    # Proper percent-encoded UTF-8 is fine.
    response = await client.get("/posts?search=caf%C3%A9+%F0%9F%98%80", headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("field", ["username", "password"])
async def test_a_percent_encoded_lone_surrogate_in_the_login_form_is_422(
    client: AsyncClient, field: str
) -> None:
    form = {"username": "someone@example.com", "password": "a good password"}
    body = "&".join(f"{name}={value}" for name, value in form.items())
    body = body.replace(f"{field}={form[field]}", f"{field}=x{ENCODED_SURROGATE}")
    response = await client.post(
        "/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    detail = assert_error(response, 422)
    assert [error["loc"] for error in detail] == [["body", field]]
    assert ENCODED_SURROGATE not in response.text and "input" not in detail[0]


INVISIBLE_TITLES = [
    "\u200b",
    "\u200b\u200b\u200b",
    "\ufeff",
    " \u200d\u2060 ",
    "\u3164",
    "\u0301",
    # Unassigned, but reserved by Unicode as invisible (Default_Ignorable_Code_Point), and a
    # noncharacter: whatever a future Unicode puts there will not print.
    "\u2065",
    "\U000e0002",
    "\ufff0",
    "\ufffe",
]


@pytest.mark.parametrize("title", INVISIBLE_TITLES)
async def test_a_title_needs_a_visible_character(
    client: AsyncClient, headers: dict[str, str], title: str
) -> None:
    assert_refused_field(
        await client.post("/posts", json={**POST, "title": title}, headers=headers), "title"
    )
    post = (await client.post("/posts", json=POST, headers=headers)).json()
    response = await client.patch(f"/posts/{post['id']}", json={"title": title}, headers=headers)
    assert_refused_field(response, "title")
    batch = await client.post(
        "/posts/batch", json=[POST, {**POST, "title": title}], headers=headers
    )
    assert_error(batch, 422)


@pytest.mark.parametrize(
    "title",
    [
        "a\u200b",
        "\u200b\u00e9",
        "\U0001f600",
        "\u0627\u0644\u062d\u0628",
        # Newer than Python 3.11's Unicode 14 tables (unassigned there): U+1FAE8 SHAKING FACE
        # and U+31350, a CJK ideograph of Unicode 15. They print: visible.
        "\U0001fae8",
        "\u200b\U0001fae8",
        "\U00031350",
    ],
)
async def test_a_title_with_a_visible_character_is_fine(
    client: AsyncClient, headers: dict[str, str], title: str
) -> None:
    response = await client.post("/posts", json={**POST, "title": title}, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["title"] == title


# --- secrets ----------------------------------------------------------------------------


async def test_a_422_never_echoes_a_password(client: AsyncClient, headers: dict[str, str]) -> None:
    secret = "s3cret\u00e9" * 10  # over 72 bytes
    answers = [
        await client.post("/users", json={"email": "a@example.com", "password": secret}),
        await client.post("/users", json={"email": "not an address", "password": secret}),
        await client.post("/users", json={"password": secret}),  # the body is echoed: no email
        await client.patch("/users/me", json={"password": secret}, headers=headers),
        await client.patch(
            "/users/me", json={"password": "x9q", "current_password": secret}, headers=headers
        ),
        await client.post("/login", data={"password": secret}),
    ]
    for response in answers:
        assert_error(response, 422)
        assert "s3cret" not in response.text, response.text
        assert "x9q" not in response.text, response.text


SECRET_NAMES = {"password", "current_password", "new_password", "token", "refresh_token"}


def _body_schema(operation: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
    if ref := schema.get("$ref"):
        schema = OPENAPI["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def _secret_fields(schema: dict[str, Any]) -> list[str]:
    return [
        name
        for name, field in schema.get("properties", {}).items()
        if name in SECRET_NAMES
        or field.get("format") == "password"
        or any(branch.get("format") == "password" for branch in field.get("anyOf", []))
    ]


# Every JSON endpoint whose body has a secret field, with those fields and the others.
SECRET_BODIES = {
    (method, path): (_secret_fields(schema), sorted(set(schema["properties"]) - SECRET_NAMES))
    for method, path in JSON_OPERATIONS
    if _secret_fields(schema := _body_schema(OPENAPI["paths"][path][method.lower()]))
}


def _shapes(secret: str, secrets: list[str], others: list[str]) -> list[Any]:
    """Bodies of every shape that carry `secret`, as the value of the secret fields or
    anywhere else: objects, arrays, bare strings, nesting, wrong types around it."""
    every = dict.fromkeys(secrets, secret)
    shapes: list[Any] = [
        secret,
        [secret],
        [every],
        [[every]],
        {"body": every},
        every,
        {field: secret * 10 for field in secrets},  # too long
        {field: [secret] for field in secrets},
        {field: {"value": secret} for field in secrets},
        {**every, "nested": {"deeper": [every]}},
    ]
    for other in others:
        shapes += [
            {**every, other: secret},  # the same text in a field that is not a secret
            {**every, other: 5},
            {**every, other: [secret]},
            {**every, other: every},
            {other: {"x": [every]}},
        ]
    return shapes


def test_the_endpoints_with_secrets_are_found() -> None:
    assert {
        ("POST", "/users"),
        ("PATCH", "/users/me"),
        ("POST", "/password-reset/confirm"),
        ("POST", "/token/refresh"),
    } <= set(SECRET_BODIES)


@pytest.mark.parametrize(("method", "path"), list(SECRET_BODIES))
async def test_no_error_ever_echoes_a_secret_whatever_the_bodys_shape(
    client: AsyncClient, headers: dict[str, str], method: str, path: str
) -> None:
    secret = "Hunter2-very-secret"  # a valid password, and token-like
    secrets, others = SECRET_BODIES[(method, path)]
    for body in _shapes(secret, secrets, others):
        response = await client.request(method, _concrete(path), json=body, headers=headers)
        assert response.status_code < 500, (body, response.text)
        assert "Hunter2" not in response.text, (body, response.text)


# --- headers ------------------------------------------------------------------------------


async def test_every_answer_says_nosniff_and_api_answers_are_not_stored(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    user = await client.post("/users", json=USER)
    token = await client.post(
        "/login", data={"username": USER["email"], "password": USER["password"]}
    )
    answers = {
        "POST /users": user,
        "POST /login": token,
        "GET /users/me": await client.get("/users/me", headers=headers),
        "GET /posts": await client.get("/posts", headers=headers),
        "GET /nope": await client.get("/nope"),
        "GET /health": await client.get("/health"),
    }
    for name, response in answers.items():
        assert response.headers["x-content-type-options"] == "nosniff", name
        assert response.headers["cache-control"] == "no-store", name
        assert "server" not in response.headers, name
    docs = await client.get("/docs")
    assert docs.headers["x-content-type-options"] == "nosniff"
    bundle = await client.get("/static/redoc.standalone.js")
    assert bundle.headers["cache-control"].startswith("public")  # static files may be cached


async def test_a_refused_cors_preflight_is_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "CORS_ORIGINS", ["https://app.example"])
    with_cors = create_app()
    async with AsyncClient(transport=ASGITransport(app=with_cors), base_url="http://t") as client:
        preflight = {"Access-Control-Request-Method": "GET"}
        refused = await client.options(
            "/posts", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert assert_error(refused, 400) == "Disallowed CORS origin"
        assert refused.headers["x-request-id"]
        allowed = await client.options(
            "/posts", headers={**preflight, "Origin": "https://app.example"}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"


async def test_the_dummy_hash_for_unknown_emails_is_made_at_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(security, "_dummy_hash", None)
    fresh = create_app()
    async with fresh.router.lifespan_context(fresh):
        assert security._dummy_hash is not None
