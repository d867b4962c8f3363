"""The automatic `OPTIONS` answer lists every method of its path.

Litestar 2 builds a path's `OPTIONS` handler when the path's first handler is
registered and never updates it (litestar-org/litestar#4169, fixed in 3.0): a
path served by GET and POST answered `Allow: GET, OPTIONS`. The handler reads its
route's methods when called, so pointing it at the finished route is enough.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute


def answer_options_with_every_method(app: Litestar) -> None:
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            continue
        handler, _ = route.route_handler_map["OPTIONS"]
        for cell in getattr(handler.fn, "__closure__", None) or ():
            held = cell.cell_contents
            if isinstance(held, HTTPRoute) and held is not route and held.path == route.path:
                cell.cell_contents = route
