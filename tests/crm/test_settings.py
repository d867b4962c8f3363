from pathlib import Path

import pytest

from crm.errors import ConfigError
from crm.settings import RateLimit, Settings


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.embedded
    assert settings.port == 8000
    assert settings.data_dir == Path(".crm")
    assert settings.rate_limit_free == RateLimit(60, 60)
    assert settings.rate_limit_pro == RateLimit(600, 60)
    assert settings.rate_limit_enterprise == RateLimit(6000, 60)
    assert settings.rate_limit_storage == "memory://"
    assert settings.trusted_proxies == ()


def test_reads_every_variable() -> None:
    settings = Settings.from_env(
        {
            "CRM_DATABASE_URL": "postgresql://db/crm",
            "CRM_HOST": "0.0.0.0",
            "CRM_PORT": "9000",
            "CRM_WORKERS": "4",
            "CRM_ADMIN_TOKEN": "t" * 32,
            "CRM_TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16,::1",
            "CRM_PAYMENT_WEBHOOK_SECRETS": "a, b ,",
            "CRM_RATE_LIMIT_FREE": "10/second",
            "CRM_RATE_LIMIT_PRO": "100/hour",
            "CRM_RATE_LIMIT_ENTERPRISE": "1000/day",
            "CRM_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/0",
            "CRM_SECRET_KEY": "s" * 32,
        }
    )
    assert not settings.embedded
    assert (settings.host, settings.port, settings.workers) == ("0.0.0.0", 9000, 4)
    assert settings.payment_webhook_secrets == ("a", "b")
    assert settings.admin_token == "t" * 32
    assert settings.trusted_proxies == ("10.0.0.1/32", "192.168.0.0/16", "::1/128")
    assert settings.rate_limit_free == RateLimit(10, 1)
    assert settings.rate_limit_pro == RateLimit(100, 3600)
    assert settings.rate_limit_enterprise == RateLimit(1000, 86400)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CRM_PORT", "eighty"),
        ("CRM_PORT", "70000"),
        ("CRM_WORKERS", "0"),
        ("CRM_RATE_LIMIT_FREE", "60 per minute"),
        ("CRM_RATE_LIMIT_PRO", "0/minute"),
        ("CRM_RATE_LIMIT_STORAGE", "memcached://x"),
        ("CRM_SECRET_KEY", "short"),
        ("CRM_ADMIN_TOKEN", "x" * 31),
        ("CRM_TRUSTED_PROXIES", "10.0.0.1,proxy.internal"),
        ("CRM_TRUSTED_PROXIES", "10.0.0.0/33"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_a_server_database_requires_a_secret_key() -> None:
    with pytest.raises(ConfigError, match="CRM_SECRET_KEY is required"):
        Settings.from_env({"CRM_DATABASE_URL": "postgresql://db/crm"}).with_secret_key()


def test_embedded_mode_generates_the_secret_once(tmp_path: Path) -> None:
    settings = Settings.from_env({"CRM_DATA_DIR": str(tmp_path)})
    first = settings.with_secret_key().secret_key
    second = settings.with_secret_key().secret_key
    assert first is not None
    assert len(first) >= 32
    assert first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
