"""API key format: prefix, secret and checksum; refused before any database work."""

from collections.abc import Callable

import pytest

from crm.security import (
    KEY_LENGTH,
    api_key_matches,
    generate_api_key,
    hash_api_key,
    parse_api_key,
)

SECRET = "k" * 40


def test_a_new_key_parses_to_its_prefix() -> None:
    new = generate_api_key()
    assert new.key.startswith(new.prefix + "_")
    assert new.prefix.startswith("crm_")
    assert len(new.key) == KEY_LENGTH
    assert parse_api_key(new.key) == new.prefix


def test_keys_are_unique() -> None:
    assert len({generate_api_key().key for _ in range(1000)}) == 1000


def test_the_secret_never_shows_in_repr() -> None:
    new = generate_api_key()
    assert new.key not in repr(new)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1],  # truncated
        lambda k: k + "x",  # too long
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # checksum tampered
        lambda k: k[:20] + ("A" if k[20] != "A" else "B") + k[21:],  # secret tampered
        lambda k: "crx_" + k[4:],  # wrong prefix
        lambda k: k.replace("_", "-"),  # wrong separators
        lambda k: k[:30] + "!" + k[31:],  # outside the alphabet
        lambda k: "",
    ],
)
def test_malformed_keys_are_refused(mangle: Callable[[str], str]) -> None:
    assert parse_api_key(mangle(generate_api_key().key)) is None


def test_hash_is_keyed() -> None:
    key = generate_api_key().key
    assert hash_api_key(SECRET, key) != hash_api_key("other" * 8, key)
    assert api_key_matches(SECRET, key, hash_api_key(SECRET, key))
    assert not api_key_matches(SECRET, key, hash_api_key(SECRET, generate_api_key().key))
