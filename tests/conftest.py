from __future__ import annotations

import asyncio
import base64
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from litestar import Litestar

from crm.migrations import migrate
from crm.settings import RateLimit, Settings
from gateway.app import create_app
from tests.database import create_database, drop_database, new_database_name, server_url

SECRET_KEY = "test-secret-key-0123456789abcdef0123456789"
# Two payment webhook secrets, as during a rotation: a Stripe-style one and a
# Standard Webhooks one (`whsec_` + base64 of the key).
STRIPE_SECRET = "whsec_stripe_test_secret_0123456789"
STANDARD_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-test-key-32b!!").decode()
ADMIN_TOKEN = "test-admin-token-0123456789abcdef0123456789"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    # A folder of its own, not under pytest's: the embedded server runs as another
    # user, and a second pytest starting meanwhile makes pytest's folder private
    # again, cutting a running server off from its own files.
    folder = Path(tempfile.mkdtemp(prefix="crm-test-pg-"))
    try:
        with server_url(folder) as url:
            yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(postgres_server: str) -> Iterator[str]:
    """A fresh database with every migration applied, dropped after the session."""
    name = new_database_name()
    url = asyncio.run(create_database(postgres_server, name))
    asyncio.run(migrate(url))
    yield url
    asyncio.run(drop_database(postgres_server, name))


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Generous limits: the suite makes many calls (and many failed ones) from one
    # address; the rate-limit tests build apps of their own with small limits.
    return Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        admin_token=ADMIN_TOKEN,
        rate_limit_free=RateLimit(100_000, 60),
        rate_limit_pro=RateLimit(200_000, 60),
        rate_limit_enterprise=RateLimit(300_000, 60),
        auth_failure_limit=RateLimit(100_000, 60),
        payment_webhook_secrets=(STRIPE_SECRET, STANDARD_SECRET),
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@asynccontextmanager
async def serve(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of `app`, running in the test's own event loop, lifespan included.

    Same loop as the tests, so a test may call services directly on the app's pool.
    """
    # Litestar types its ASGI call with its own scope TypedDicts, which these
    # clients' plain-mapping ASGI type does not accept: the protocol is the same.
    async with (
        LifespanManager(app),  # type: ignore[arg-type]
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
            base_url="http://testserver.local",
        ) as http,
    ):
        yield http


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The app's client; its lifespan (and pool, the default one) lasts the whole session."""
    async with serve(app) as http:
        yield http


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
