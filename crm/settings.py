"""Settings: one typed object, read from `CRM_*` environment variables.

Every setting is documented here and in the README. Production secrets have no
default: with `CRM_DATABASE_URL` set (a real deployment), a missing
`CRM_SECRET_KEY` stops the server with a clear message. The embedded mode
generates the secret once and keeps it under `CRM_DATA_DIR`.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from crm.errors import ConfigError

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*$")
_WINDOW_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
SECRET_KEY_MIN_LENGTH = 32
ADMIN_TOKEN_MIN_LENGTH = 32


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A quota of `count` requests per `window` seconds."""

    count: int
    window: int

    @classmethod
    def parse(cls, name: str, text: str) -> RateLimit:
        match = _RATE_RE.match(text)
        if not match or int(match.group(1)) < 1:
            raise ConfigError(
                f"{name} must look like '<count>/<second|minute|hour|day>', got {text!r}"
            )
        return cls(count=int(match.group(1)), window=_WINDOW_SECONDS[match.group(2)])


@dataclass(frozen=True, slots=True)
class Settings:
    # PostgreSQL URL. Unset: an embedded PostgreSQL kept under `data_dir`.
    database_url: str | None = None
    # Where the embedded PostgreSQL and the generated secret key live.
    data_dir: Path = Path(".crm")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Addresses or CIDR networks of the reverse proxies whose `X-Forwarded-For` is
    # believed. Empty (the default): the client address is the socket's peer.
    trusted_proxies: tuple[str, ...] = ()
    # Bearer token of the operator API (`/admin`), at least 32 characters.
    # Unset: every `/admin` route is 404.
    admin_token: str | None = None
    # Payment webhook secrets; any one matching is enough (rotation). Empty: route is 404.
    payment_webhook_secrets: tuple[str, ...] = ()
    rate_limit_free: RateLimit = field(default_factory=lambda: RateLimit(60, 60))
    rate_limit_pro: RateLimit = field(default_factory=lambda: RateLimit(600, 60))
    rate_limit_enterprise: RateLimit = field(default_factory=lambda: RateLimit(6000, 60))
    # Failed authentications allowed per client address, so keys cannot be guessed at speed.
    auth_failure_limit: RateLimit = field(default_factory=lambda: RateLimit(30, 60))
    # `limits` storage URL for rate-limit counters: `memory://` or `redis://host:port/db`.
    rate_limit_storage: str = "memory://"
    # Keys the HMAC of API keys. Required with `database_url`; generated in embedded mode.
    secret_key: str | None = None
    # Size of each process's connection pool.
    database_pool_size: int = 10

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def integer(name: str, default: int, low: int, high: int) -> int:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
            if not low <= value <= high:
                raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
            return value

        def rate(name: str, default: RateLimit) -> RateLimit:
            raw = text(name)
            return default if raw is None else RateLimit.parse(name, raw)

        defaults = cls()
        storage = text("CRM_RATE_LIMIT_STORAGE") or "memory://"
        if not storage.startswith(("memory://", "redis://", "rediss://")):
            raise ConfigError(
                "CRM_RATE_LIMIT_STORAGE must be memory:// or redis://host:port/db, "
                f"got a value starting {storage.split(':', 1)[0]!r}"
            )
        secret_key = text("CRM_SECRET_KEY")
        if secret_key is not None and len(secret_key) < SECRET_KEY_MIN_LENGTH:
            raise ConfigError(
                f"CRM_SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} characters long"
            )
        admin_token = text("CRM_ADMIN_TOKEN")
        if admin_token is not None and len(admin_token) < ADMIN_TOKEN_MIN_LENGTH:
            raise ConfigError(
                f"CRM_ADMIN_TOKEN must be at least {ADMIN_TOKEN_MIN_LENGTH} characters long "
                f"(it has {len(admin_token)}); generate one with "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        webhook_secrets = tuple(
            part.strip()
            for part in (text("CRM_PAYMENT_WEBHOOK_SECRETS") or "").split(",")
            if part.strip()
        )
        return cls(
            database_url=text("CRM_DATABASE_URL"),
            data_dir=Path(text("CRM_DATA_DIR") or ".crm"),
            host=text("CRM_HOST") or defaults.host,
            port=integer("CRM_PORT", defaults.port, 0, 65535),
            workers=integer("CRM_WORKERS", defaults.workers, 1, 256),
            trusted_proxies=_networks("CRM_TRUSTED_PROXIES", text("CRM_TRUSTED_PROXIES")),
            admin_token=admin_token,
            payment_webhook_secrets=webhook_secrets,
            rate_limit_free=rate("CRM_RATE_LIMIT_FREE", defaults.rate_limit_free),
            rate_limit_pro=rate("CRM_RATE_LIMIT_PRO", defaults.rate_limit_pro),
            rate_limit_enterprise=rate("CRM_RATE_LIMIT_ENTERPRISE", defaults.rate_limit_enterprise),
            auth_failure_limit=rate("CRM_AUTH_FAILURE_LIMIT", defaults.auth_failure_limit),
            rate_limit_storage=storage,
            secret_key=secret_key,
            database_pool_size=integer("CRM_DATABASE_POOL_SIZE", 10, 1, 1000),
        )

    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """`trusted_proxies` as networks (a lone address is a network of one)."""
        return tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)

    def with_secret_key(self) -> Settings:
        """The settings with a secret key: the configured one, or the embedded mode's own.

        In embedded mode the key is generated once and kept in `data_dir/secret_key`
        (mode 0600), so API keys stay valid across restarts. Elsewhere a missing key
        is a configuration error: a per-process random key would invalidate every
        API key on restart and differ between processes.
        """
        if self.secret_key is not None:
            return self
        if not self.embedded:
            raise ConfigError(
                "CRM_SECRET_KEY is required when CRM_DATABASE_URL is set "
                f"(at least {SECRET_KEY_MIN_LENGTH} random characters)"
            )
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        key = path.read_text().strip()
        if len(key) < SECRET_KEY_MIN_LENGTH:
            raise ConfigError(f"the secret key kept in {path} is too short; delete it to renew")
        return replace(self, secret_key=key)


def _networks(name: str, raw: str | None) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR networks, each checked; empty for none."""
    found = []
    for part in (raw or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ConfigError(
                f"{name} must list IP addresses or CIDR networks separated by commas, got {part!r}"
            ) from None
    return tuple(found)
