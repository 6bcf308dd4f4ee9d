"""Swagger UI and ReDoc served from this app: no CDN, no inline script.

The assets come from the `fastapi-offline` package's static files, so `/docs` and `/redoc`
work offline and behind a Content-Security-Policy that allows only this origin's scripts.
"""

from functools import cache
from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from app.web import reset_page

VENDOR_ASSETS = Path(str(files("fastapi_offline") / "static"))
OWN_ASSETS = Path(__file__).parent / "static"

# Scripts only from this origin. Styles may be inline: Swagger UI and ReDoc set them at
# run time. ReDoc runs its search in a worker built from a blob.
DOCS_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# The top of /docs and /redoc (the OpenAPI document's `info.description`, Markdown): how to
# start, for someone who has never seen the API.
API_DESCRIPTION = """\
How to start, on this page:

1. **Sign up**: open `POST /users` below, click *Try it out*, give an e-mail address and a
   password (8 characters or more), then *Execute*.
2. **Log in**: click **Authorize** (above the operations, on the right), type your e-mail
   address as *username* and your password, then **Authorize**. Every call you try from then
   on carries your token.
3. **Read the feed**: `GET /posts`, *Try it out*, *Execute*. Write a post with `POST /posts`
   and vote for one with `POST /vote`.

Posts have comments too: `GET` and `POST /posts/{post_id}/comments` to read and write them,
`DELETE /comments/{id}` to remove one (its author, the post's owner or an admin).

Every error is JSON, `{"detail": ...}`; each operation lists the ones it can answer, with the
messages the API sends.
"""

router = APIRouter(include_in_schema=False)

# ReDoc's side menu always shows Redocly's logo from their CDN (no option turns it off): the
# bundle is served with that URL replaced by an empty inline image.
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


@cache
def _redoc_bundle() -> str:
    bundle = (VENDOR_ASSETS / "redoc.standalone.js").read_text(encoding="utf-8")
    return bundle.replace(REDOC_CDN_LOGO, EMPTY_IMAGE)


@router.get("/static/redoc.standalone.js")
async def redoc_bundle() -> Response:
    return Response(
        _redoc_bundle(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def _page(title: str, head: str, body: str) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>{head}</head><body>{body}</body></html>"
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_CSP})


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    app: FastAPI = request.app
    openapi_url = escape(f"{root}{app.openapi_url}")
    return _page(
        f"{app.title} - Swagger UI",
        f'<link rel="icon" href="{root}/static/vendor/favicon.png">'
        f'<link rel="stylesheet" href="{root}/static/vendor/swagger-ui.css">'
        f'<link rel="stylesheet" href="{root}/static/swagger-docs.css">',
        '<div id="swagger-ui"></div>'
        f'<script src="{root}/static/vendor/swagger-ui-bundle.js"></script>'
        f'<script src="{root}/static/swagger-init.js" data-openapi-url="{openapi_url}"></script>',
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    app: FastAPI = request.app
    return _page(
        f"{app.title} - ReDoc",
        f'<link rel="icon" href="{root}/static/vendor/favicon.png">',
        f'<redoc spec-url="{escape(f"{root}{app.openapi_url}")}"></redoc>'
        f'<script src="{root}/static/redoc.standalone.js"></script>',
    )


def add_docs(app: FastAPI) -> None:
    """The pages the app serves itself, and their static files: Swagger UI, ReDoc, and the
    password-reset page the reset e-mail links to by default (reset_page.py)."""
    app.include_router(router)  # before the mounts: /static/redoc.standalone.js is a route
    app.include_router(reset_page.router)
    # The more specific mount first: "/static" would also match "/static/vendor/...".
    app.mount("/static/vendor", StaticFiles(directory=VENDOR_ASSETS), name="docs-vendor")
    app.mount("/static", StaticFiles(directory=OWN_ASSETS), name="docs-static")
