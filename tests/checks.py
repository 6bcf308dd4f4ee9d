"""Assertions on error responses, shared by the test files."""

from httpx import Response


def assert_unauthorized(response: Response) -> None:
    """401 with `WWW-Authenticate: Bearer` and a `{"detail": str}` body."""
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str)


def assert_invalid(response: Response, loc: list[str | int]) -> None:
    """422 in FastAPI's shape, every error pointing at `loc`."""
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert isinstance(errors, list) and errors
    for error in errors:
        assert {"loc", "msg", "type"} <= set(error), error
        assert isinstance(error["msg"], str) and isinstance(error["type"], str)
    assert [error["loc"] for error in errors] == [loc] * len(errors), errors
