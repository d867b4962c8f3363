"""The guides ship with the code: every link in them leads to a file the repository holds."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, SECRET_KEY
from tests.servers import Server, clean_env, running_server

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
        label = {
            "api_keys": "API keys",
            "email_templates": "email templates",
            "email_suppressions": "email suppressions",
        }.get(resource, resource)
        row = next(
            cells
            for name, cells in rows.items()
            if name.split(":")[0] == label and name.split(":")[1].split()[0] == action
        )
        expected = [POLICY[role][permission].value for role in Role]
        assert row[:3] == expected, permission
        assert row[3] == f"`{KEY_SCOPE[permission]}`", permission


# The examples, run against a real server


WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"docs-examples-webhook-key-32-by!").decode()
TOOLS = ("bash", "curl", "jq", "openssl")


def _examples(guide: str) -> str:
    """The guide's shell blocks as one script; blocks that start a server or run
    `./dev` (the command line has tests of its own) are left out."""
    blocks = re.findall(r"```sh\n(.*?)```", (DOCS / guide).read_text(encoding="utf-8"), re.S)
    kept = [b for b in blocks if "./dev " not in b and "=crm_..." not in b and "=..." not in b]
    return "\n".join(["set -euo pipefail", *kept])


@pytest.fixture(scope="module")
def docs_server(database_url: str) -> Iterator[Server]:
    # The rate-limit guide shows the defaults at work: no limit is raised here.
    env = clean_env(
        CRM_DATABASE_URL=database_url,
        CRM_SECRET_KEY=SECRET_KEY,
        CRM_ADMIN_TOKEN=ADMIN_TOKEN,
        CRM_PAYMENT_WEBHOOK_SECRETS=WEBHOOK_SECRET,
    )
    with running_server(env) as running:
        yield running


@pytest.mark.parametrize("guide", [g for g in GUIDES if "```sh" in (DOCS / g).read_text()])
def test_the_guides_examples_run_against_a_real_server(docs_server: Server, guide: str) -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the examples need {', '.join(missing)}")
    # A company of its own per guide: its quota and records start afresh.
    created = httpx.post(
        f"{docs_server.base}/admin/v1/companies",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        json={"name": f"Docs {guide}", "owner_email": "docs@example.com", "owner_name": "Docs"},
    )
    assert created.status_code == 201, created.text
    env = {
        "PATH": os.environ["PATH"],
        "CRM": docs_server.base,
        "KEY": created.json()["api_key"],
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    offset = docs_server.log_size()
    result = subprocess.run(
        ["bash", "-c", _examples(guide)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not re.search(r'"status": ?5\d\d', result.stdout), result.stdout
    assert docs_server.errors_since(offset) == []
