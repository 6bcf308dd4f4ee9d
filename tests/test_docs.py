"""The documentation stays true to the repository: every relative link and `#anchor` in
README.md, docs/*.md and bench/README.md leads somewhere, every path they name under app/,
tests/, bench/, migrations/ or docs/ exists, none names an issue number or a file outside the
repository, and the README stays a ten-minute read."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]
README_MAX_LINES = 250

FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
# [text](target "title"): the target up to the first space or closing parenthesis.
LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# A path under one of the repository's folders, as prose or `code` names it (not a URL's path).
REPO_PATH = re.compile(r"(?<![\w./:~-])((?:app|tests|bench|migrations|docs)/[^\s`'\"()\[\],;|]*)")
PLACEHOLDER = re.compile(r"[*?<>{}]|\.\.\.")  # a glob, `<entity>`, `{id}`, `...`: not a file
ISSUE_NUMBER = re.compile(r"\bissues? #?\d+\b", re.IGNORECASE)
OUTSIDE = re.compile(r"\.\./|(?<![\w./-])shared/")


def prose(page: Path) -> str:
    """The page without its fenced code blocks (their `#` lines are not headings)."""
    kept, fenced = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            kept.append(line)
    return "\n".join(kept)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text as rendered (links and code marks gone),
    lower case, punctuation dropped, each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose(page).splitlines():
        match = HEADING.match(line)
        if match:
            base = slug(match[2])
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[str]:
    text = re.sub(r"`[^`\n]*`", "", prose(page))  # `[x](y)` in code is not a link
    return [target for target in LINK.findall(text) if not URL_SCHEME.match(target)]


def named_paths(page: Path) -> list[str]:
    named = []
    for match in REPO_PATH.finditer(page.read_text(encoding="utf-8")):
        path = match[1].split("#")[0].rstrip(".:")
        if not PLACEHOLDER.search(path):
            named.append(path)
    return named


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_the_pages_exist() -> None:
    assert (ROOT / "docs").is_dir()
    for page in PAGES:
        assert page.is_file(), page_id(page)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_relative_link_and_anchor_leads_somewhere(page: Path) -> None:
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(f"{target}: no heading for #{anchor} in {linked.relative_to(ROOT)}")
    assert not broken, broken


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_path_the_page_names_exists(page: Path) -> None:
    missing = sorted({path for path in named_paths(page) if not (ROOT / path).exists()})
    assert not missing, missing


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_no_page_names_an_issue_number_or_a_file_outside_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    issues = ISSUE_NUMBER.findall(text)
    assert not issues, issues
    outside = [line for line in text.splitlines() if OUTSIDE.search(re.sub(LINK, "", line))]
    assert not outside, outside


def test_the_readme_is_a_ten_minute_read() -> None:
    text = README.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move the depth to docs/"
    for command in ("uv run fastapi dev", "uv run pytest"):
        assert command in text, command
