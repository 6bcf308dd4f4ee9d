"""The API's operations as the contract lists them (docs/API.md): the one list from which the
tests that pin a set of operations derive theirs (the OpenAPI document's operations, the
Swagger sections, which routes need a token or the database, which writes race deletions), and
a request for each (`request_for`). A new endpoint is one line here."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as the OpenAPI document writes it: /posts/{post_id}
    section: str  # its tag: the Swagger section it is listed in
    token: bool = True  # needs `Authorization: Bearer`
    database: bool = True  # touches the database (so it can answer 503)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


# The Swagger sections, in the order a newcomer needs them.
SECTIONS = [
    "meta",
    "auth",
    "sessions",
    "password reset",
    "users",
    "posts",
    "votes",
    "comments",
    "admin",
]

OPERATIONS = [
    Operation("GET", "/", "meta", token=False, database=False),
    Operation("GET", "/health", "meta", token=False, database=False),
    Operation("GET", "/health/db", "meta", token=False),
    Operation("POST", "/login", "auth", token=False),
    Operation("POST", "/token/refresh", "auth", token=False),
    Operation("POST", "/logout", "auth"),
    Operation("POST", "/logout-all", "auth"),
    Operation("GET", "/sessions", "sessions"),
    Operation("DELETE", "/sessions/{session_id}", "sessions"),
    # The reset request answers before it looks anything up (the e-mail goes after it).
    Operation("POST", "/password-reset", "password reset", token=False, database=False),
    Operation("POST", "/password-reset/confirm", "password reset", token=False),
    Operation("POST", "/users", "users", token=False),
    Operation("GET", "/users/me", "users"),
    Operation("PATCH", "/users/me", "users"),
    Operation("DELETE", "/users/me", "users"),
    Operation("GET", "/users/{user_id}", "users"),
    Operation("GET", "/posts", "posts"),
    Operation("POST", "/posts", "posts"),
    Operation("POST", "/posts/batch", "posts"),
    Operation("GET", "/posts/{post_id}", "posts"),
    Operation("PUT", "/posts/{post_id}", "posts"),
    Operation("PATCH", "/posts/{post_id}", "posts"),
    Operation("DELETE", "/posts/{post_id}", "posts"),
    Operation("POST", "/vote", "votes"),
    Operation("GET", "/posts/{post_id}/comments", "comments"),
    Operation("POST", "/posts/{post_id}/comments", "comments"),
    Operation("DELETE", "/comments/{comment_id}", "comments"),
    Operation("GET", "/admin/users", "admin"),
    Operation("GET", "/admin/users/{user_id}", "admin"),
    Operation("PATCH", "/admin/users/{user_id}", "admin"),
    Operation("DELETE", "/admin/users/{user_id}", "admin"),
]

BY_KEY = {operation.key: operation for operation in OPERATIONS}
WITH_TOKEN = [operation for operation in OPERATIONS if operation.token]
# The writes a caller with a token makes: each races the deletion of its target or of its
# caller in tests/test_races.py, or says there why not.
WRITES_WITH_TOKEN = [operation for operation in WITH_TOKEN if operation.method != "GET"]


def _schema(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    if ref := schema.get("$ref"):
        resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        return resolved
    return schema


def _example(schema: dict[str, Any], document: dict[str, Any]) -> Any:
    """The schema's own example: its first `examples`, a list of its items' example, or an
    object of its properties' examples (a form's)."""
    schema = _schema(schema, document)
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("type") == "array":
        return [_example(schema["items"], document)]
    return {
        name: _schema(field, document).get("examples", ["x"])[0]
        for name, field in schema.get("properties", {}).items()
        if name in schema.get("required", [])
    }


def request_for(
    operation: Operation, document: dict[str, Any], ids: dict[str, int], **overrides: Any
) -> dict[str, Any]:
    """A request for `operation` as a client would send it (httpx.request's arguments): its
    path ids from `ids` (post_id, comment_id, user_id, session_id), its body the operation's
    own example in the OpenAPI document (JSON or form), unless `overrides` say otherwise
    (`json=...`, `data=...`, `headers=...`)."""
    request: dict[str, Any] = {"method": operation.method, "url": operation.path.format(**ids)}
    described = document["paths"][operation.path][operation.method.lower()]
    for media_type, media in described.get("requestBody", {}).get("content", {}).items():
        body = _example(media.get("schema", {}), document)
        request["json" if media_type == "application/json" else "data"] = body
    return {**request, **overrides}
