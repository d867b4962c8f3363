"""The Litestar application: routes, error rendering, OpenAPI, and the pool's lifetime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar._openapi.plugin import handle_schema_path_not_found
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Server
from litestar.routes import BaseRoute
from litestar.types import ControllerRouterHandler

from crm import db
from crm.api_keys import service as api_keys
from crm.settings import Settings
from crm.work.runner import close_worker, load_handlers, open_worker
from crm.work.worker import WorkerOptions
from gateway.keys import KeyCache
from gateway.openapi import refine
from gateway.pipeline import Gateway
from gateway.problems import handle_exception
from gateway.ratelimit import RateLimiter
from gateway.request_id import add_request_id
from gateway.routes import admin, health, reference, v1, webhooks
from gateway.routing import answer_options_with_every_method
from gateway.text_checks import JSONRequest, refuse_nul
from gateway.transaction import MAX_BODY_BYTES

log = logging.getLogger("gateway")

DESCRIPTION = """\
The CRM's HTTP API for third-party integrations, payment providers and generated
clients. Every `/v1` route takes `Authorization: Bearer <api key>`; errors are
RFC 9457 problem details with a stable `code`.

The guides in the repository's `docs/` folder explain what this reference lists
(`docs/README.md` is their index): `docs/authentication.md` (API keys and scopes),
`docs/roles-and-visibility.md` (who sees and changes what), `docs/errors.md`
(problem codes), `docs/pagination.md`, `docs/rate-limits.md`,
`docs/idempotency.md`, `docs/payment-webhooks.md` and `docs/operator-api.md`."""


class _DocsRouter(Router):
    """Serves the OpenAPI document and docs at the root, without Litestar's catch-all.

    Litestar adds an HTML "not found" page for every unknown path under the docs
    router; at the root that would shadow our problem+json 404s.
    """

    def register(self, value: ControllerRouterHandler) -> list[BaseRoute]:
        if getattr(value, "fn", None) is handle_schema_path_not_found:
            return []
        return super().register(value)


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="CRM API",
        version="1.0.0",
        description=DESCRIPTION,
        path="/",
        render_plugins=[reference.redoc(), JsonRenderPlugin(path="/openapi.json")],
        openapi_router=_DocsRouter("/", route_handlers=[], include_in_schema=False),
        servers=[Server(url="/")],
        use_handler_docstrings=True,
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API key, `crm_<id>_<secret><checksum>`, acting as one "
                    "agent narrowed by the key's scopes: see `docs/authentication.md`.",
                ),
                "adminToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="The operator's `CRM_ADMIN_TOKEN`; unset, the operator API "
                    "answers 404: see `docs/operator-api.md`.",
                ),
            }
        ),
    )


def create_app(
    settings: Settings | None = None, *, worker: WorkerOptions | None = None
) -> Litestar:
    """The app for `settings` (read from the environment when omitted).

    With `worker`, the process also runs a worker of background jobs (`crm
    serve` without `--no-worker`), with a pool of its own, started and stopped
    with the app: on shutdown its running jobs get its grace period to finish.
    """
    settings = (settings or Settings.from_env()).with_secret_key()
    if settings.database_url is None:
        raise RuntimeError("create_app needs a database URL; `crm serve` provides the embedded one")
    database_url = settings.database_url
    api_keys.configure(settings.secret_key or "")
    if worker is not None:
        load_handlers()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await db.open_pool(
            database_url,
            size=settings.database_pool_size,
            statement_seconds=db.REQUEST_STATEMENT_SECONDS,
        )
        keys = KeyCache(pool, database_url)
        app.state.pool = pool
        app.state.gateway = Gateway(
            settings=settings, pool=pool, keys=keys, limiter=RateLimiter(settings)
        )
        await keys.start()
        engine = None if worker is None else await open_worker(database_url, worker)
        working = None if engine is None else asyncio.create_task(engine.run(), name="crm-worker")
        try:
            yield
        finally:
            if engine is not None and working is not None:
                engine.stop()
                try:
                    await asyncio.wait_for(working, engine.options.grace_seconds + 5)
                except (Exception, asyncio.CancelledError):
                    log.exception("the in-process worker did not stop cleanly")
                await close_worker(engine)
            await keys.stop()
            await db.close_pool(pool)

    # Without a token the operator API does not exist, and without a secret anyone
    # could forge payment events: unconfigured, they are not mounted (every path
    # under them is 404) yet still documented, so the document is the same everywhere.
    optional = [
        (settings.admin_token is not None, admin.router()),
        (bool(settings.payment_webhook_secrets), webhooks.router()),
    ]
    mounted = [router for configured, router in optional if configured]
    unmounted = [router for configured, router in optional if not configured]

    app = Litestar(
        route_handlers=[*health.ROUTES, v1.router(), *mounted, *reference.ROUTES],
        lifespan=[lifespan],
        state=State({"settings": settings}),
        exception_handlers={
            404: handle_exception,
            405: handle_exception,
            HTTPException: handle_exception,
            Exception: handle_exception,
        },
        before_send=[add_request_id],
        before_request=refuse_nul,
        request_class=JSONRequest,
        openapi_config=openapi_config(),
        request_max_body_size=MAX_BODY_BYTES,
        logging_config=None,
    )
    refine(app, unmounted=unmounted, config=openapi_config)
    answer_options_with_every_method(app)
    return app


def app_from_env(*, worker: WorkerOptions | None = None) -> Litestar:
    """Factory for ASGI servers: `uvicorn --factory gateway.app:app_from_env`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return create_app(worker=worker)
