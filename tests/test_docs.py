"""The guides ship with the code: every link in them leads to a file the repository holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GUIDES = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md")
# [text](target): the target up to an optional #anchor.
LINK = re.compile(r"\]\(([^)#\s]*)(#[^)\s]*)?\)")
# `path/like/this.ext` in backticks: a file the text names.
NAMED_FILE = re.compile(r"`((?:crm|gateway|tests|docs|openapi|migrations|bench)/[\w./-]*\.\w+)`")


def _markdown() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def _anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w -]", "", h).strip().lower().replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", _markdown(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_leads_to_a_file_of_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    links = LINK.findall(text)
    for target, anchor in links:
        if target.startswith(("http://", "https://")):
            continue
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{page.name} links to {target}, which is not in the repository"
        if anchor and path.suffix == ".md":
            assert anchor[1:] in _anchors(path), f"{page.name} links to {target}{anchor}"
    for named in NAMED_FILE.findall(text):
        assert (ROOT / named).exists(), f"{page.name} names {named}, which is not in the repository"


def test_the_readme_and_the_index_link_every_guide() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(GUIDES) >= 9
    assert "(docs/README.md)" in readme
    for guide in GUIDES:
        assert f"]({guide})" in index, f"docs/README.md does not link {guide}"
        assert f"](docs/{guide})" in readme, f"README.md does not link docs/{guide}"


def test_the_guide_prints_the_policy_table_as_the_server_applies_it() -> None:
    from crm.policy import KEY_SCOPE, POLICY, Permission, Role

    text = (DOCS / "roles-and-visibility.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[1] in ("all", "team", "own", "none"):
            rows[cells[0]] = cells[1:]
    assert len(rows) == len(Permission)
    for permission in Permission:
        resource, action = permission.value.split(".")
        label = {"api_keys": "API keys"}.get(resource, resource)
        row = next(
            cells
            for name, cells in rows.items()
            if name.split(":")[0] == label and name.split(":")[1].split()[0] == action
        )
        expected = [POLICY[role][permission].value for role in Role]
        assert row[:3] == expected, permission
        assert row[3] == f"`{KEY_SCOPE[permission]}`", permission
