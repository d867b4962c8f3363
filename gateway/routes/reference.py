"""The browsable reference at `/docs`, served whole by the server: it works offline.

The page loads Redoc from `gateway/static/`, never from a CDN, and no web fonts.
The bundle is `bundles/redoc.standalone.js` of the npm package `redoc` at
`REDOC_VERSION` (sha256 of the published file: `REDOC_PUBLISHED_SHA256`), less
its last line, which points at a source map that is not shipped; its licences
sit beside it. To move to another version: `npm pack redoc@<version>`, copy the
bundle the same way into `gateway/static/redoc-<version>/` with `LICENSE` and
`redoc.standalone.js.LICENSE.txt`, and change `REDOC_VERSION`.

The version is in the asset's path, so the asset never changes under its URL
and is cached for a year (`immutable`).
"""

from __future__ import annotations

from pathlib import Path

from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import RedocRenderPlugin
from litestar.static_files import create_static_files_router

REDOC_VERSION = "2.5.4"
REDOC_PUBLISHED_SHA256 = "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_PATH = "/static"
REDOC_JS = f"{STATIC_PATH}/redoc-{REDOC_VERSION}/redoc.standalone.js"
ONE_YEAR = 365 * 24 * 3600

# An empty inline icon: without it the browser asks for /favicon.ico, and the
# framework's default icon is fetched from a CDN.
NO_FAVICON = "<link rel='icon' href='data:,'>"


def redoc() -> RedocRenderPlugin:
    return RedocRenderPlugin(path="/docs", js_url=REDOC_JS, google_fonts=False, favicon=NO_FAVICON)


ROUTES = [
    create_static_files_router(
        path=STATIC_PATH,
        directories=[STATIC_DIR],
        cache_control=CacheControlHeader(max_age=ONE_YEAR, public=True, immutable=True),
        include_in_schema=False,
    )
]
