"""What the OpenAPI document says of the answers a route can give: the errors, each with a
description and an example carrying the message the API really sends (API.md), and FastAPI's
422 with a real example too."""

from typing import Any

from pydantic import BaseModel, ConfigDict

from app.core.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unauthorized
from app.ratelimit.limits import RateLimited
from app.services.visibility import POST_NOT_FOUND


class ErrorMessage(BaseModel):
    """The body of every error the service raises (422 keeps FastAPI's own shape)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"detail": "Post not found"}]})

    detail: str


_DESCRIPTIONS = {
    400: "Body that cannot be parsed (malformed JSON, not UTF-8, a broken form)",
    401: "Missing, malformed, expired or revoked token (WWW-Authenticate: Bearer)",
    403: "Not the owner of the post",
    404: "Not found",
    409: "Conflict",
    413: "Request body over 1 MiB",
    429: "Too many attempts (Retry-After, in seconds)",
    503: "Database unavailable (Retry-After)",
}

# The message each error carries unless the route says otherwise (`detail_404=...`).
# The service's own messages come from the errors that carry them.
_MESSAGES: dict[int, str | list[str]] = {
    400: "There was an error parsing the body",  # FastAPI's (app/web/errors.py)
    401: ["Not authenticated", Unauthorized.detail],  # no token (FastAPI's), a bad one (ours)
    403: Forbidden.detail,
    404: NotFound.detail,
    409: Conflict.detail,
    413: "Content Too Large",  # app/web/request_limits.py
    429: RateLimited.detail,
    503: ServiceUnavailable.detail,
}


def _examples(messages: str | list[str]) -> dict[str, Any]:
    if isinstance(messages, str):
        return {"example": {"detail": messages}}
    return {"examples": {message: {"value": {"detail": message}} for message in messages}}


def error_responses(*codes: int, **overrides: str | list[str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the errors a route can answer with: `detail_404="..."` (or a list of
    them) is the message of the example, `_404="..."` the description (by default the one
    message given, else a generic one), e.g.
    `error_responses(401, 404, _404="Post not found (or a draft)", detail_404="Post not found")`.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        messages = overrides.get(f"detail_{code}", _MESSAGES[code])
        told = messages if f"detail_{code}" in overrides and isinstance(messages, str) else None
        description = overrides.get(f"_{code}", told or _DESCRIPTIONS[code])
        assert isinstance(description, str)
        responses[code] = {
            "model": ErrorMessage,
            "description": description,
            "content": {"application/json": _examples(messages)},
        }
    return responses


# The 404 of every route that names a post: posts, votes, comments.
NO_SUCH_POST = error_responses(
    404,
    _404="No such post, or one you may not see (another user's draft)",
    detail_404=POST_NOT_FOUND,
)

VALIDATION_DESCRIPTION = (
    "A field breaks its rule (FastAPI's validation shape: one entry per problem, with where "
    "it is, `loc`, and what is wrong, `msg`)"
)


def _body_field(operation: dict[str, Any], schemas: dict[str, Any]) -> str:
    """The body's first required field (the one an example leaves out)."""
    for media in operation["requestBody"].get("content", {}).values():
        schema = media.get("schema", {})
        if schema.get("type") == "array":
            schema = schema.get("items", {})
        if ref := schema.get("$ref"):
            schema = schemas.get(ref.rsplit("/", 1)[-1], {})
        fields = schema.get("required") or list(schema.get("properties", {}))
        if fields:
            return str(fields[0])
    return "body"


def _validation_example(operation: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    if "requestBody" in operation:
        problem: dict[str, Any] = {
            "type": "missing",
            "loc": ["body", _body_field(operation, schemas)],
            "msg": "Field required",
        }
    else:
        parameter = operation.get("parameters", [{"in": "query", "name": "limit"}])[0]
        problem = {
            "type": "int_parsing",
            "loc": [parameter["in"], parameter["name"]],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": "ten",
        }
    return {"detail": [problem]}


def document_validation_errors(openapi: dict[str, Any]) -> None:
    """FastAPI describes every 422 as "Validation Error" with a `{"detail": [...]}` schema and
    no example: give each a description and an example in the shape the API answers."""
    schemas = openapi.get("components", {}).get("schemas", {})
    for item in openapi.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            response = operation.get("responses", {}).get("422")
            if response is None:
                continue
            response["description"] = VALIDATION_DESCRIPTION
            media = response.setdefault("content", {}).setdefault("application/json", {})
            media["example"] = _validation_example(operation, schemas)
