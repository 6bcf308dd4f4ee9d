"""Swagger UI (/docs), ReDoc (/redoc) and the password-reset page (/reset-password) in a real
browser, against the real server.

The server runs as its own process (uvicorn, on a free port, on a scratch database migrated with
Alembic); a headless Chromium opens the docs pages, logs in through Swagger's Authorize dialog
and runs "Try it out" on GET /posts. Every URL the browser requests is recorded: all of them
must be on the test server's origin (no CDN), and the console must show no Content-Security-
Policy violation (nor any other error). Another test reads Swagger as a person does: the
Authorize dialog says what to type (the e-mail as username) and shows no client credentials, and
POST /posts has its summary, description, a realistic example and error examples with the API's
messages. A third follows the reset e-mail's link to the reset page and sets a new password
there. Screenshots land in test-artifacts/ (git-ignored; taken on failure too):
swagger-try-it-out.png, swagger-authorize-dialog.png, swagger-post-posts.png, redoc.png and
reset-password.png.

Chromium is Debian's `chromium` package (/usr/bin/chromium, or $CHROMIUM_PATH); `.ci/run`
installs it. Without it, or without the `playwright` package, the tests are skipped, except in
CI (`CI` set, e.g. CI=true), where they fail instead.

Why Playwright (the Python package, sync API) rather than Selenium with chromium-driver:
- the wheel from PyPI carries its own driver, and `executable_path` points it at Debian's
  Chromium, so nothing is downloaded (no `playwright install`, no Selenium Manager) and there is
  no second binary (chromedriver) that has to match the browser's version;
- it reports every request the page and its workers make, and every console message, as plain
  events: exactly what the "nothing from another origin, no CSP violation" checks need
  (Selenium would need CDP or BiDi logging for that);
- its locators wait by themselves, each wait bounded by the timeouts set below, so the test
  needs no sleeps and fails within seconds when something is missing.

Playwright's sync API runs an event loop of its own, which counts as running in this thread while
it is started: the server (whose migration runs an event loop) is set up before the browser,
and the browser is stopped at the end of each test, before any async test runs.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import httpx
import pytest

from app.db.migrations import upgrade_to_head
from tests.conftest import TEST_DB
from tests.database import TestDatabase
from tests.live_server import free_port, running

try:
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        Page,
        Request,
        Response,
        expect,
        sync_playwright,
    )
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # the dev dependency is not installed: skipped (failed in CI) below
    PLAYWRIGHT_IMPORT_ERROR: str | None = "the `playwright` package is not installed"
else:
    PLAYWRIGHT_IMPORT_ERROR = None

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SWAGGER_SCREENSHOT = ARTIFACTS / "swagger-try-it-out.png"
AUTHORIZE_SCREENSHOT = ARTIFACTS / "swagger-authorize-dialog.png"
POST_POSTS_SCREENSHOT = ARTIFACTS / "swagger-post-posts.png"
REDOC_SCREENSHOT = ARTIFACTS / "redoc.png"
RESET_SCREENSHOT = ARTIFACTS / "reset-password.png"
SERVER_LOG = ARTIFACTS / "docs-browser-server.log"

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",  # small /dev/shm in containers
    "--disable-quic",
    "--no-first-run",
    # No calls home to Google (refused here anyway, and slow to fail).
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Any host name but the test server's fails at once instead of reaching the network; such a
    # request is still recorded, and fails the origin check.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

STARTUP_TIMEOUT_S = 20.0
ACTION_TIMEOUT_MS = 5_000  # each click, fill and wait in the browser
NAVIGATION_TIMEOUT_MS = 10_000
SECRET_KEY = "docs-browser-test-secret-key-0123456789abcdef"  # 32+ characters: HS256


def _unavailable(reason: str) -> NoReturn:
    """Skip on a laptop without Chromium; in CI the browser test must run, so fail."""
    if os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}:
        pytest.fail(f"{reason}; CI is set, so the browser test may not be skipped", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium and the driver library, or a skip (a failure in CI)."""
    if PLAYWRIGHT_IMPORT_ERROR is not None:
        _unavailable(PLAYWRIGHT_IMPORT_ERROR)
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def server(chromium: Path) -> Iterator[str]:
    """The app in its own uvicorn process, on a scratch database; yields its base URL.

    Requests `chromium` so that a missing browser skips before any database is created.
    """
    database = TestDatabase.new(TEST_DB.server_url)
    database.create()
    try:
        upgrade_to_head(database.url)  # blocking, runs its own event loop: no loop is running
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database.url,
            "ENVIRONMENT": "test",
            "BCRYPT_ROUNDS": "4",
            "SECRET_KEY": SECRET_KEY,
            # Reset e-mails (written to the server's log) link to this server's reset page.
            "PASSWORD_RESET_URL": f"http://127.0.0.1:{port}/reset-password?token={{token}}",
        }
        ARTIFACTS.mkdir(exist_ok=True)
        uvicorn = ["-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
        with running(
            uvicorn, env, SERVER_LOG, port=port, start_timeout=STARTUP_TIMEOUT_S
        ) as base_url:
            yield base_url
    finally:
        database.drop()


@dataclass
class Watched:
    """A browser page, and everything it asked for or complained about."""

    page: Page
    origin: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        """Requested URLs outside the test server's origin (data: URLs are no requests)."""
        foreign = []
        for url in self.requests:
            if url.startswith("data:"):
                continue
            # A blob: URL names its creator's origin: blob:http://127.0.0.1:1234/<uuid>
            parts = urlsplit(url.removeprefix("blob:"))
            if f"{parts.scheme}://{parts.netloc}" != self.origin:
                foreign.append(url)
        return foreign

    def csp_violations(self) -> list[str]:
        seen = self.page.evaluate("() => window.__cspViolations || []")
        logged = [text for text in self.console_errors if "Content Security Policy" in text]
        return [*logged, *seen]

    def assert_self_contained(self, must_load: list[str]) -> None:
        """Nothing from elsewhere, no CSP violation, no error; `must_load`: path endings."""
        paths = [urlsplit(url).path for url in self.requests]
        missing = [end for end in must_load if not any(path.endswith(end) for path in paths)]
        assert missing == [], f"expected requests for {missing}: {self.requests}"
        foreign = self.foreign_requests()
        assert foreign == [], f"requests outside {self.origin} (a CDN?): {foreign}"
        violations = self.csp_violations()
        assert violations == [], f"Content-Security-Policy violations: {violations}"
        assert self.console_errors == [], "errors in the browser console"
        assert self.page_errors == [], "uncaught errors in the page"


# Runs in every document before its own scripts (CDP-injected, so the page's CSP allows it):
# violations are counted even if Chromium changes its console wording.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI}`);
});
"""


@pytest.fixture
def watched(chromium: Path, server: str) -> Iterator[Watched]:
    """A fresh headless Chromium page for one test; Playwright stops when the test ends."""
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS, timeout=20_000
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(ACTION_TIMEOUT_MS)
            context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
            context.add_init_script(RECORD_CSP_VIOLATIONS)
            page = context.new_page()
            watch = Watched(page=page, origin=server)

            def on_console(message: ConsoleMessage) -> None:
                if message.type == "error":
                    watch.console_errors.append(message.text)

            def on_request(request: Request) -> None:
                watch.requests.append(request.url)

            # On the context: also the requests of workers (ReDoc searches in one).
            context.on("request", on_request)
            page.on("console", on_console)
            page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
            yield watch
        finally:
            browser.close()


def _screenshot_on_failure(page: Page, path: Path) -> None:
    try:
        page.screenshot(path=path, full_page=True)
    except PlaywrightError as error:  # keep the test's own failure, not this one
        print(f"could not take the failure screenshot {path}: {error}")


def _register_with_a_draft(base_url: str) -> tuple[str, str, str]:
    """A new user (through the API) with a draft only they can see: email, password, title."""
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    password = "correct horse battery"
    title = f"Draft seen through Swagger {uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=base_url, timeout=5.0) as api:
        response = api.post("/users", json={"email": email, "password": password})
        assert response.status_code == 201, response.text
        response = api.post("/login", data={"username": email, "password": password})
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        response = api.post(
            "/posts",
            json={"title": title, "content": "Only its owner sees it.", "published": False},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
    return email, password, title


def _path_is(path: str, method: str) -> Callable[[Response], bool]:
    return lambda response: (
        urlsplit(response.url).path == path and response.request.method == method
    )


def test_swagger_ui_logs_in_and_tries_get_posts(watched: Watched, server: str) -> None:
    email, password, draft_title = _register_with_a_draft(server)
    page = watched.page
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.goto(f"{server}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Posts API")

        # Authorize: the OAuth2 password flow's form, sent by Swagger to POST /login.
        page.locator(".auth-wrapper button.authorize").click()
        dialog = page.locator(".modal-ux")
        expect(dialog).to_be_visible()
        dialog.get_by_label("username").fill(email)
        dialog.get_by_label("password").fill(password)
        with page.expect_response(_path_is("/login", "POST")) as login:
            dialog.locator("button.modal-btn", has_text="Authorize").click()
        assert login.value.status == 200, login.value.text()
        expect(dialog.locator("button.modal-btn", has_text="Logout")).to_be_visible()
        dialog.locator("button.modal-btn", has_text="Close").click()
        expect(dialog).to_be_hidden()
        locked = re.compile(r"\blocked\b")
        expect(page.locator(".auth-wrapper button.authorize")).to_have_class(locked)

        # GET /posts: Try it out, Execute.
        operation = page.locator(".opblock-get").filter(
            has=page.locator('.opblock-summary-path[data-path="/posts"]')
        )
        operation.locator(".opblock-summary").click()
        operation.locator("button.try-out__btn", has_text="Try it out").click()
        with page.expect_response(_path_is("/posts", "GET")) as listing:
            operation.locator("button.execute", has_text="Execute").click()
        assert listing.value.status == 200, listing.value.text()
        authorization = listing.value.request.headers.get("authorization", "")
        assert authorization.startswith("Bearer "), listing.value.request.headers

        # What Swagger shows: the live response, 200, with the caller's own draft in it.
        live = operation.locator(".live-responses-table .response").first
        expect(live.locator(".response-col_status")).to_have_text("200")
        expect(live.locator(".response-col_description")).to_contain_text(draft_title)
        page.wait_for_load_state("networkidle")
    except BaseException:
        _screenshot_on_failure(page, SWAGGER_SCREENSHOT)
        raise
    # From the title and the (locked) Authorize button down to the live response's headers.
    page.evaluate("() => window.scrollTo(0, 0)")
    bottom = live.bounding_box()
    assert bottom is not None
    height = bottom["y"] + bottom["height"] + 16
    page.screenshot(
        path=SWAGGER_SCREENSHOT,
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": height},
    )

    watched.assert_self_contained(
        must_load=["/docs", "/swagger-ui-bundle.js", "/swagger-init.js", "/openapi.json", "/login"]
    )


def test_swagger_explains_the_authorize_dialog_and_post_posts(
    watched: Watched, server: str
) -> None:
    page = watched.page
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = AUTHORIZE_SCREENSHOT
    try:
        page.goto(f"{server}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Posts API")
        # The top of the page says how to start, in three steps.
        start = page.locator(".swagger-ui .info .description")
        expect(start.locator("ol > li")).to_have_count(3)
        expect(start).to_contain_text("type your e-mail address as username")

        # The Authorize dialog: what to type, and no OAuth2 client fields that mean nothing here.
        page.locator(".auth-wrapper button.authorize").click()
        dialog = page.locator(".modal-ux")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Type your e-mail address as username and your password")
        expect(dialog.locator('label[for="oauth_username"]')).to_have_text(
            "username (your e-mail address):"
        )
        expect(dialog.locator("#oauth_username")).to_have_attribute(
            "placeholder", "alice@example.com"
        )
        expect(dialog.locator("#oauth_password")).to_be_visible()
        for hidden in ('[id^="client_id"]', '[id^="client_secret"]', "#password_type"):
            expect(dialog.locator(hidden)).to_be_hidden()
        expect(dialog.get_by_text("client_id")).to_be_hidden()
        expect(dialog.get_by_text("Client credentials location")).to_be_hidden()
        expect(dialog.locator(".scopes")).to_have_count(0)
        expect(dialog.get_by_text("Scopes are used")).to_be_hidden()
        dialog.screenshot(path=AUTHORIZE_SCREENSHOT)
        dialog.locator("button.modal-btn", has_text="Close").click()
        expect(dialog).to_be_hidden()

        # POST /posts: summary, description, a realistic example, errors with real messages.
        screenshot = POST_POSTS_SCREENSHOT
        operation = page.locator(".opblock-post").filter(
            has=page.locator('.opblock-summary-path[data-path="/posts"]')
        )
        expect(operation.locator(".opblock-summary-description")).to_have_text("Write a post")
        operation.locator(".opblock-summary").click()
        body = operation.locator(".opblock-body")
        expect(body.locator(".opblock-description")).to_contain_text("at least one of them visible")
        example = body.locator(".body-param__example")
        expect(example).to_contain_text('"title": "Sourdough starter, week two"')
        expect(example).to_contain_text('"published": true')
        responses = body.locator(".responses-table").first
        expect(responses).to_contain_text("The new post, with no votes yet")
        expect(responses).to_contain_text('"detail": "Content Too Large"')
        expect(responses).not_to_contain_text("Successful Response")
        expect(responses).not_to_contain_text('"string"')
        operation.locator("button.try-out__btn", has_text="Try it out").click()
        expect(body.locator("textarea.body-param__text")).to_have_value(
            re.compile(r'"title": "Sourdough starter, week two"')
        )
        page.wait_for_load_state("networkidle")
        operation.screenshot(path=POST_POSTS_SCREENSHOT)

        # POST /login's form: an e-mail address as the username, not "string".
        login = page.locator(".opblock-post").filter(
            has=page.locator('.opblock-summary-path[data-path="/login"]')
        )
        login.locator(".opblock-summary").click()
        login.locator("button.try-out__btn", has_text="Try it out").click()
        username = login.locator('tr[data-property-name="username"] input')
        expect(username).to_have_value("alice@example.com")
        expect(login.locator('tr[data-property-name="username"]')).to_contain_text("e-mail")

        # POST /vote's example votes (dir 1) rather than taking a vote back.
        vote = page.locator(".opblock-post").filter(
            has=page.locator('.opblock-summary-path[data-path="/vote"]')
        )
        vote.locator(".opblock-summary").click()
        expect(vote.locator(".body-param__example")).to_contain_text('"dir": 1')
    except BaseException:
        _screenshot_on_failure(page, screenshot)
        raise

    watched.assert_self_contained(must_load=["/docs", "/swagger-docs.css", "/openapi.json"])


def test_redoc_renders_the_api(watched: Watched, server: str) -> None:
    spec = httpx.get(f"{server}/openapi.json", timeout=5.0).json()
    summaries = {
        operation["summary"] for path in spec["paths"].values() for operation in path.values()
    }
    assert {"The feed", "Write a post", "Log in (OAuth2 password flow)"} <= summaries
    page = watched.page
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.goto(f"{server}/redoc")
        info = spec["info"]
        expect(page.locator("h1")).to_contain_text(f"{info['title']} ({info['version']})")
        expect(page.locator("h2", has_text="The feed")).to_be_visible()
        page.wait_for_load_state("networkidle")
        headings = set(page.locator("h2").all_inner_texts())
        assert summaries <= headings, f"operations missing from ReDoc: {summaries - headings}"
    except BaseException:
        _screenshot_on_failure(page, REDOC_SCREENSHOT)
        raise
    page.screenshot(path=REDOC_SCREENSHOT)

    watched.assert_self_contained(must_load=["/redoc", "/redoc.standalone.js", "/openapi.json"])


def _reset_link_from_the_log(email: str, timeout: float = 10.0) -> str:
    """The link of the reset e-mail to `email`, which the console backend writes to the log
    (after the response: waited for)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = SERVER_LOG.read_text()
        at = log.find(f"to {email}, subject")
        found = re.search(r"http://127\.0\.0\.1:\d+/reset-password\?token=[\w-]+", log[at:])
        if at >= 0 and found:
            return found.group(0)
        time.sleep(0.1)
    pytest.fail(f"no reset e-mail to {email} in the server's log:\n{SERVER_LOG.read_text()}")


def test_the_reset_page_sets_a_new_password(watched: Watched, server: str) -> None:
    """The link in the reset e-mail (PASSWORD_RESET_URL's default page), followed as a person
    does: two passwords that differ are caught on the page, then the same one twice is sent
    to POST /password-reset/confirm and the answer shown; the new password logs in."""
    email, password, _ = _register_with_a_draft(server)
    new_password = "a brand new password"
    with httpx.Client(base_url=server, timeout=5.0) as api:
        assert api.post("/password-reset", json={"email": email}).status_code == 202
    link = _reset_link_from_the_log(email)
    page = watched.page
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.goto(link)
        expect(page.locator("h1")).to_have_text("Choose a new password")
        page.locator("#new-password").fill(new_password)
        page.locator("#repeated-password").fill(new_password + " but not quite")
        page.get_by_role("button", name="Set the new password").click()
        expect(page.locator("#answer")).to_contain_text("The two passwords differ")

        page.locator("#repeated-password").fill(new_password)
        with page.expect_response(_path_is("/password-reset/confirm", "POST")) as confirmed:
            page.get_by_role("button", name="Set the new password").click()
        assert confirmed.value.status == 200, confirmed.value.text()
        expect(page.locator("#answer")).to_have_text(
            "Password updated. Log in with the new password."
        )
        page.screenshot(path=RESET_SCREENSHOT)
    except BaseException:
        _screenshot_on_failure(page, RESET_SCREENSHOT)
        raise
    confirm_requests = [url for url in watched.requests if url.endswith("/password-reset/confirm")]
    assert len(confirm_requests) == 1  # the mismatch never left the page
    with httpx.Client(base_url=server, timeout=5.0) as api:
        old = api.post("/login", data={"username": email, "password": password})
        new = api.post("/login", data={"username": email, "password": new_password})
    assert (old.status_code, new.status_code) == (401, 200)

    watched.assert_self_contained(
        must_load=["/reset-password", "/reset-password.js", "/reset-password.css"]
    )
