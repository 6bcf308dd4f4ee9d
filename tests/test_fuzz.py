"""Schema-driven fuzzing: schemathesis generates requests from the app's OpenAPI document and
runs every one of its checks on each response (no 5xx, declared statuses, bodies and headers
that match the schema, schema-valid data accepted, invalid data rejected, auth enforced, ...).

The app runs as under `client`: a session per request and real commits on this
run's database, as a logged-in user. Two users' posts (one of them a draft of the other user),
votes and comments are seeded before each operation, and valid ids are steered towards them, so that
200/403/404/409 paths are reached and not only "no such post". Fixed seed, bounded examples.
"""

import asyncio
import io
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import requests.adapters
import schemathesis
import urllib3
from httpx import AsyncClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from schemathesis.checks import CHECKS, load_all_checks

from app.db.engine import SessionFactory
from app.main import app
from app.models import MAX_ID, MAX_PASSWORD_BYTES
from app.models.common import is_visible
from app.models.users import AccountEmail
from app.services.admin import set_admin
from tests.conftest import empty_tables
from tests.factories import create_comment, create_post, new_account, vote

SEED = 20261122
MAX_EXAMPLES = 40  # per operation, in the fuzzing phase (the coverage phase adds its own)
WORKFLOWS, WORKFLOW_STEPS = 30, 10  # stateful: scenarios, and calls in each at most
BASE_URL = "http://test"  # as in conftest


class RunOnSuiteLoop(requests.adapters.HTTPAdapter):
    """Requests (schemathesis's, and its checks' probes) answered by the app on the suite's
    own event loop: the app runs exactly as under `client` (its engine and pools,
    a session per request, real commits). The test is synchronous, so that loop is idle."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: AsyncClient) -> None:
        super().__init__()
        self.loop = loop
        self.client = client

    def send(self, request: requests.PreparedRequest, *_: Any, **__: Any) -> requests.Response:
        body = request.body
        if body is not None and not isinstance(body, str | bytes):
            body = b"".join(chunk.encode() if isinstance(chunk, str) else chunk for chunk in body)
        answer = self.loop.run_until_complete(
            self.client.request(
                str(request.method), str(request.url), headers=request.headers, content=body
            )
        )
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(answer.content),
            headers=urllib3.HTTPHeaderDict(answer.headers.multi_items()),
            status=answer.status_code,
            reason=answer.reason_phrase,
            version=11,
            preload_content=False,
        )
        return self.build_response(request, raw)


ACCOUNT_EMAIL: TypeAdapter[str] = TypeAdapter(AccountEmail)


def _accepted_email(address: str) -> bool:
    try:
        ACCOUNT_EMAIL.validate_python(address)  # email-validator (EmailStr) and the API's own
    except ValidationError:
        return False
    return True


# JSON Schema's `format: email` allows addresses that email-validator refuses by design
# (special-use domains such as `.test`, ...), and the API refuses "=?" in an account's
# address: positive cases draw addresses the API accepts.
schemathesis.openapi.format("email", st.emails().filter(_accepted_email))
# Passwords are limited in UTF-8 bytes (bcrypt), which JSON Schema cannot say; a custom format
# bypasses the generation settings below, so NUL is left out here too.
schemathesis.openapi.format(
    "password",
    st.text(
        st.characters(codec="utf-8", exclude_characters="\x00"),
        min_size=8,
        max_size=MAX_PASSWORD_BYTES,
    ).filter(lambda value: len(value.encode("utf-8", "surrogatepass")) <= MAX_PASSWORD_BYTES),
)

# Titles need a visible character, which JSON Schema cannot say: `format: visible-text`.
schemathesis.openapi.format(
    "visible-text",
    st.text(
        st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=200
    ).filter(lambda value: any(is_visible(character) for character in value)),
)

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "base-url": BASE_URL,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            # The contract refuses NUL characters and lone surrogates anywhere (422, tested in
            # test_hardening.py): they are not "valid data" here, whatever the schema's types say.
            "allow-x00": False,
            "codec": "utf-8",
            # Reproducible from the seed alone: no example database under .hypothesis/.
            "database": "none",
        },
        # A drawn reset token is never a live one: 400 is the right answer to schema-valid data.
        "operations": [
            {
                "include-path": "/password-reset/confirm",
                "checks": {"positive_data_acceptance": {"expected-statuses": ["2XX", 400, 429]}},
            }
        ],
        # For test_workflows (the stateful phase): links inferred from the schema.
        "phases": {
            "stateful": {"inference": {"algorithms": ["location-headers", "dependency-analysis"]}}
        },
    }
)
schema = schemathesis.openapi.from_dict(app.openapi(), config=CONFIG)


@dataclass
class World:
    """What the fuzzer's valid ids are steered towards, and what it did."""

    headers: dict[str, str] = field(default_factory=dict)  # the fuzz user's (an admin's) token
    post_ids: list[int] = field(default_factory=list)
    comment_ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)
    session_ids: list[int] = field(default_factory=list)  # the fuzz user's other sessions
    refresh_tokens: list[str] = field(default_factory=list)  # of those sessions
    phase: str = "fuzzing"  # or "stateful", while test_workflows runs
    # Requests per phase and operation, and their answers.
    statuses: dict[str, dict[str, Counter[int]]] = field(default_factory=dict)


WORLD = World()
MAX_REFRESH_TOKEN = 200  # RefreshRequest.refresh_token's max_length


def _steer(value: Any, pool: list[int]) -> Any:
    """A valid id becomes a seeded one three times out of four (deterministic in the drawn
    value, so that shrinking and the seed keep working); invalid ids stay as drawn. Integral
    floats (JSON bodies get 5.0 for an integer) stay floats."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not pool:
        return value
    if isinstance(value, float) and not value.is_integer():
        return value
    drawn = int(value)
    if not 1 <= drawn <= MAX_ID or drawn % 4 == 0:
        return value
    return type(value)(pool[drawn % len(pool)])


@schema.hook
def map_path_parameters(context: schemathesis.HookContext, path_parameters: Any) -> Any:
    if isinstance(path_parameters, dict):
        for name, pool in (
            ("post_id", WORLD.post_ids),
            ("comment_id", WORLD.comment_ids),
            ("user_id", WORLD.user_ids),
            ("session_id", WORLD.session_ids),
        ):
            if name in path_parameters:
                path_parameters[name] = _steer(path_parameters[name], pool)
    return path_parameters


@schema.hook
def map_body(context: schemathesis.HookContext, body: Any) -> Any:
    path = context.operation.path if context.operation is not None else None
    if path == "/vote" and isinstance(body, dict) and "post_id" in body:
        body["post_id"] = _steer(body["post_id"], WORLD.post_ids)
    # A valid drawn refresh token becomes a real one three times out of four (the first use of
    # each succeeds); invalid ones (too long, not a string) stay as drawn.
    tokens = WORLD.refresh_tokens
    if path == "/token/refresh" and isinstance(body, dict) and tokens:
        drawn = body.get("refresh_token")
        if isinstance(drawn, str) and len(drawn) <= MAX_REFRESH_TOKEN and len(drawn) % 4:
            body["refresh_token"] = tokens[len(drawn) % len(tokens)]
    return body


@schema.hook
def after_call(context: schemathesis.HookContext, case: schemathesis.Case, response: Any) -> None:
    operations = WORLD.statuses.setdefault(WORLD.phase, {})
    operations.setdefault(case.operation.label, Counter())[response.status_code] += 1


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    """The figures, in the test log: requests per operation, the answers they got, time."""
    started = time.perf_counter()
    yield
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is None or capture is None or not WORLD.statuses:
        return
    lines = [f"fuzz: {time.perf_counter() - started:.1f} s"]
    for phase, operations in WORLD.statuses.items():
        counts = [statuses.total() for statuses in operations.values()]
        lines.append(
            f"  {phase}: {len(operations)} operations, {sum(counts)} requests"
            f" ({min(counts)} to {max(counts)} per operation)"
        )
        for label, statuses in operations.items():
            answers = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
            lines.append(f"    {label}: {answers}")
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


@pytest.fixture(scope="session")
async def suite_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


async def seed(client: AsyncClient) -> World:
    """Two users (the fuzz user an admin, with two more sessions), their posts (a draft each),
    votes and comments, committed through the API."""
    me = await new_account(client)
    async with SessionFactory() as session:
        await set_admin(session, me["email"], is_admin=True)
    other = await new_account(client)
    logins = [
        (await client.post("/login", data={"username": me["email"], "password": me["password"]}))
        for _ in range(2)
    ]
    mine = [await create_post(client, me["headers"]) for _ in range(3)]
    my_draft = await create_post(client, me["headers"], published=False)
    theirs = await create_post(client, other["headers"])
    their_draft = await create_post(client, other["headers"], published=False)
    await vote(client, me["headers"], theirs["id"])
    await vote(client, other["headers"], mine[0]["id"])
    comments = [
        await create_comment(client, me["headers"], theirs["id"]),
        await create_comment(client, other["headers"], mine[0]["id"]),
        await create_comment(client, other["headers"], their_draft["id"]),  # unseen by me
    ]
    posts = [*mine, my_draft, theirs, their_draft]
    WORLD.headers = me["headers"]
    WORLD.post_ids = [post["id"] for post in posts]
    WORLD.comment_ids = [comment["id"] for comment in comments]
    WORLD.user_ids = [me["id"], other["id"]]
    sessions = await client.get("/sessions", headers=me["headers"])
    WORLD.session_ids = [row["id"] for row in sessions.json() if not row["current"]]
    WORLD.refresh_tokens = [response.json()["refresh_token"] for response in logins]
    return WORLD


@pytest.fixture
async def world(client: AsyncClient) -> World:
    """Seeded before each operation; `client` empties the tables afterwards."""
    return await seed(client)


@pytest.fixture
def fuzz_session(
    suite_loop: asyncio.AbstractEventLoop, client: AsyncClient
) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.mount(BASE_URL, RunOnSuiteLoop(suite_loop, client))
        yield session


# Operations that end the caller's session or account (a password change ends every session):
# each case gets an account of its own.
_SESSION_ENDING = {"DELETE /users/me", "POST /logout-all", "POST /logout", "PATCH /users/me"}


@schema.parametrize()
# `world` is seeded once per operation, on purpose: its examples share it.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api(
    case: schemathesis.Case,
    world: World,
    fuzz_session: requests.Session,
    suite_loop: asyncio.AbstractEventLoop,
    client: AsyncClient,
) -> None:
    headers = world.headers
    if case.operation.label in _SESSION_ENDING:
        headers = suite_loop.run_until_complete(new_account(client))["headers"]
    response = case.call_and_validate(session=fuzz_session, headers=headers)
    if response.status_code < 300 and case.operation.label not in _AUTH_CHECKED:
        _assert_auth_enforced(case, fuzz_session)


# schemathesis's `ignored_auth` check leaves OAuth2 schemes alone (it probes apiKey and http
# ones only), so the same probe is made here: once per operation, after its first success,
# the request again without a token and with a forged one.
_AUTH_CHECKED: set[str] = set()
FORGED = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.forged"}


def _assert_auth_enforced(case: schemathesis.Case, session: requests.Session) -> None:
    _AUTH_CHECKED.add(case.operation.label)
    if not case.operation.definition.raw.get("security"):
        return
    for headers in ({}, FORGED):
        response = case.call(session=session, headers=headers)
        assert response.status_code == 401, (case.operation.label, headers, response.text)
        assert response.headers.get("www-authenticate") == ["Bearer"], response.headers


def test_workflows(
    world: World,
    fuzz_session: requests.Session,
    suite_loop: asyncio.AbstractEventLoop,
    client: AsyncClient,
) -> None:
    """The stateful phase: chains of calls along the links schemathesis infers from the schema
    (POST /posts -> GET, PUT, PATCH, DELETE /posts/{post_id}, ...), with the stateful checks
    (use after free, resources that vanish) on top of the others, as the logged-in user."""

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Every scenario from the same state: Hypothesis replays and shrinks scenarios, and
            # needs the same steps to get the same answers.
            suite_loop.run_until_complete(empty_tables())
            suite_loop.run_until_complete(seed(client))

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"session": fuzz_session, "headers": world.headers}

        def validate_response(
            self,
            response: Any,
            case: schemathesis.Case,
            additional_checks: Any = None,
            **kwargs: Any,
        ) -> None:
            # schemathesis counts a DELETE as removing the resources under its own path only;
            # DELETE /admin/users/{user_id} also removes /users/{user_id}, so a 404 there after
            # it is the right answer, not a created resource gone missing.
            excluded = CHECKS.get_by_names(["ensure_resource_availability"])
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=excluded if self._deleted_by_an_admin(case) else None,
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

        def _deleted_by_an_admin(self, case: schemathesis.Case) -> bool:
            if case.operation.path != "/users/{user_id}":
                return False
            user_id = (case.path_parameters or {}).get("user_id")
            for earlier in self.recorder.find_all_cases():
                answer = self.recorder.find_response(case_id=earlier.id)
                if (
                    earlier.operation.label == "DELETE /admin/users/{user_id}"
                    and (earlier.path_parameters or {}).get("user_id") == user_id
                    and answer is not None
                    and answer.status_code == 204
                ):
                    return True
            return False

    WORLD.phase = "stateful"
    Workflow.run(
        settings=settings(
            max_examples=WORKFLOWS,
            stateful_step_count=WORKFLOW_STEPS,
            derandomize=True,  # a fixed seed
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
    )


def test_every_check_is_on() -> None:
    """`call_and_validate` runs the checks the configuration enables: here, all of them."""
    load_all_checks()
    names = CHECKS.get_all_names()
    config = schema.config.checks_config_for()
    assert len(names) >= 14 and all(config.get_by_name(name=name).enabled for name in names)


# What the fuzzer found, pinned down as plain tests (the seed may change; these stay).


async def test_405_allow_lists_every_method_of_the_path(client: AsyncClient) -> None:
    for method, path, allowed in [
        ("PUT", "/users/me", "GET, DELETE, PATCH"),  # three routes, one path
        ("POST", "/posts/7", "GET, PUT, PATCH, DELETE"),
        ("DELETE", "/posts", "GET, POST"),
        ("GET", "/posts/batch", "POST"),  # not a post id: the path has POST only
        ("PUT", "/posts/batch", "POST"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 405, (method, path, response.text)
        assert response.headers["allow"] == allowed, (method, path)
        assert response.json() == {"detail": "Method Not Allowed"}


async def test_json_booleans_and_integers_only(client: AsyncClient) -> None:
    headers = (await new_account(client))["headers"]
    for published in (0, 1, "true"):
        body = {"title": "t", "content": "c", "published": published}
        response = await client.post("/posts", json=body, headers=headers)
        assert response.status_code == 422, response.text
    post = await create_post(client, headers)
    for post_id in (str(post["id"]), True):
        response = await client.post("/vote", json={"post_id": post_id, "dir": 1}, headers=headers)
        assert response.status_code == 422, response.text
    # 5.0 is an integer for JSON Schema, so for the API too.
    body = {"post_id": float(post["id"]), "dir": 1}
    response = await client.post("/vote", json=body, headers=headers)
    assert response.status_code == 201, response.text


async def test_openapi_says_what_validation_enforces(client: AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    post_update = schemas["PostUpdate"]["properties"]
    assert all("anyOf" not in post_update[field] for field in ("title", "content", "published"))
    for title in (post_update["title"], schemas["PostCreate"]["properties"]["title"]):
        assert title["format"] == "visible-text" and "visible character" in title["description"]
        assert "pattern" not in title
    user_update = schemas["UserUpdate"]
    assert set(user_update["dependentSchemas"]) == {"email", "password"}
    assert user_update["properties"]["password"]["maxLength"] == MAX_PASSWORD_BYTES
