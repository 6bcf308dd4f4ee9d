"""GET /reset-password: the page the reset e-mail links to by default (PASSWORD_RESET_URL's
default). Through HTTP here; tests/test_docs_browser.py submits it in a real browser."""

import re

from httpx import AsyncClient

from app.core.config import Settings


async def test_the_default_reset_link_opens_a_page_that_posts_to_the_confirm_endpoint(
    client: AsyncClient,
) -> None:
    default = Settings.model_fields["PASSWORD_RESET_URL"].default
    assert default.startswith("http://127.0.0.1:8000/reset-password?token=")

    response = await client.get("/reset-password", params={"token": "the-token-from-the-mail"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "<form" in page and page.count('type="password"') == 2  # typed twice
    assert 'data-confirm-url="/password-reset/confirm"' in page
    # The page reads the token from its own address: the server never writes it into the HTML.
    assert "the-token-from-the-mail" not in page
    # No inline script or style, and a policy that forbids them.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts == [
        (' src="/static/reset-password.js" data-confirm-url="/password-reset/confirm"', "")
    ]
    assert "style=" not in page and "<style" not in page
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    # The address holds the token: kept out of caches and Referer headers.
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"

    for asset, kind in (("reset-password.js", "javascript"), ("reset-password.css", "css")):
        served = await client.get(f"/static/{asset}")
        assert served.status_code == 200 and kind in served.headers["content-type"]
    script = (await client.get("/static/reset-password.js")).text
    assert 'get("token")' in script and "new_password" in script


async def test_the_reset_page_is_not_part_of_the_api_document(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "/reset-password" not in schema["paths"]
    assert "/password-reset/confirm" in schema["paths"]


async def test_a_page_without_a_token_still_opens_and_the_endpoint_refuses_it(
    client: AsyncClient,
) -> None:
    """A link cut short opens the page as well; what it then sends (an empty token) is the
    confirm endpoint's to refuse, and the page shows that answer."""
    assert (await client.get("/reset-password")).status_code == 200
    sent = {"token": "", "new_password": "a new long password"}
    refused = await client.post("/password-reset/confirm", json=sent)
    assert refused.status_code == 400
    assert refused.json() == {"detail": "Invalid or expired reset token"}
