"""GET /reset-password: the page the reset e-mail links to by default (PASSWORD_RESET_URL).

A minimal form for a service without a front end of its own: the new password typed twice,
sent as JSON to POST /password-reset/confirm by static/reset-password.js, the answer shown.
The page reads the token from its own query string; the server never writes it into the HTML,
and a bad or missing token is the confirm endpoint's to refuse. A front end that has its own
reset page points PASSWORD_RESET_URL at it instead.
"""

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

CONFIRM_PATH = "/password-reset/confirm"

# Only this origin's script, style and requests; no inline script or style at all.
RESET_PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

router = APIRouter(include_in_schema=False)


@router.get("/reset-password")
async def reset_password_page(request: Request) -> HTMLResponse:
    root = escape(request.scope.get("root_path", ""))
    html = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Choose a new password</title>"
        f'<link rel="stylesheet" href="{root}/static/reset-password.css"></head><body><main>'
        "<h1>Choose a new password</h1>"
        '<form id="reset-form">'
        '<label for="new-password">New password (8 characters or more)</label>'
        '<input id="new-password" type="password" autocomplete="new-password" required>'
        '<label for="repeated-password">The same password again</label>'
        '<input id="repeated-password" type="password" autocomplete="new-password" required>'
        '<button type="submit">Set the new password</button>'
        "</form>"
        '<p id="answer" role="status" aria-live="polite"></p>'
        "</main>"
        f'<script src="{root}/static/reset-password.js" '
        f'data-confirm-url="{root}{CONFIRM_PATH}"></script>'
        "</body></html>"
    )
    headers = {
        "Content-Security-Policy": RESET_PAGE_CSP,
        # The address holds the reset token: no Referer carries it anywhere, no cache keeps it.
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(html, headers=headers)
