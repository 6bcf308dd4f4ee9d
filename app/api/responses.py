"""What the OpenAPI document says of the errors a route can answer with."""

from typing import Any

from pydantic import BaseModel


class ErrorMessage(BaseModel):
    """The body of every error the service raises (422 keeps FastAPI's own shape)."""

    detail: str


_DESCRIPTIONS = {
    400: "Body that cannot be parsed (not UTF-8, broken multipart)",
    401: "Missing, malformed, expired or revoked token (WWW-Authenticate: Bearer)",
    403: "Not the owner of the post",
    404: "Not found",
    409: "Conflict",
    413: "Request body over 1 MiB",
    429: "Too many attempts (Retry-After, in seconds)",
    503: "Database unavailable (Retry-After)",
}


def error_responses(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the errors a route can answer with, e.g.
    `error_responses(401, 404, _404="Post not found")`."""
    return {
        code: {
            "model": ErrorMessage,
            "description": descriptions.get(f"_{code}", _DESCRIPTIONS[code]),
        }
        for code in codes
    }
