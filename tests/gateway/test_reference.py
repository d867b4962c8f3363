"""`/docs` works offline: the page and everything it loads come from the server itself."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser

import httpx

from gateway.routes.reference import (
    REDOC_JS,
    REDOC_PUBLISHED_SHA256,
    REDOC_VERSION,
    STATIC_DIR,
)

BUNDLE = STATIC_DIR / f"redoc-{REDOC_VERSION}" / "redoc.standalone.js"
# The published bundle's last line, left out here: a source map that is not shipped.
SOURCE_MAP_LINE = b"//# sourceMappingURL=redoc.standalone.js.map"


class _References(HTMLParser):
    """Every URL an element of the page refers to (src, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append((tag, value))


async def test_the_reference_page_refers_only_to_its_own_server(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = _References()
    page.feed(response.text)
    assert ("script", REDOC_JS) in page.urls
    for tag, url in page.urls:
        same_origin = url.startswith("/") and not url.startswith("//")
        assert same_origin or url.startswith("data:"), (tag, url)
    head = response.text.split("Redoc.init(", 1)[0]
    assert not re.search(r"https?://|//[a-z]", head), head


async def test_the_redoc_bundle_is_served_with_a_long_cache_lifetime(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(REDOC_JS)
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    cache = {part.strip() for part in response.headers["cache-control"].split(",")}
    assert {"public", "max-age=31536000", "immutable"} <= cache
    assert response.content == BUNDLE.read_bytes()


async def test_an_unknown_asset_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/static/redoc-{REDOC_VERSION}/nothing-here.js")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_the_bundle_is_the_published_one_less_its_source_map_line() -> None:
    published = BUNDLE.read_bytes() + SOURCE_MAP_LINE
    assert hashlib.sha256(published).hexdigest() == REDOC_PUBLISHED_SHA256
    assert (
        f'Version: "{REDOC_VERSION}"'.encode()
        in (BUNDLE.parent / "redoc.standalone.js.LICENSE.txt").read_bytes()
    )
    assert (
        (BUNDLE.parent / "LICENSE").read_text(encoding="utf-8").startswith("The MIT License (MIT)")
    )
