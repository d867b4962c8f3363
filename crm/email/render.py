"""Templates' `{{ name }}` placeholders: found, and filled in safely.

There is no logic in a template, only names: a value is text, escaped for HTML
in the HTML part, and kept on one line in the subject (a header).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")


def variables(*parts: str) -> list[str]:
    """The names the parts use, sorted, each once."""
    return sorted({match.group(1) for part in parts for match in PLACEHOLDER.finditer(part)})


def missing(parts: Iterable[str], values: Mapping[str, str]) -> list[str]:
    """The names the parts use that `values` does not provide, sorted."""
    return [name for name in variables(*parts) if name not in values]


def render(part: str, values: Mapping[str, str], *, escape: bool = False) -> str:
    """`part` with each placeholder replaced by its value (every name must be in `values`)."""

    def value(match: re.Match[str]) -> str:
        text = values[match.group(1)]
        return html.escape(text, quote=True) if escape else text

    return PLACEHOLDER.sub(value, part)


def render_subject(subject: str, values: Mapping[str, str]) -> str:
    """The subject with its placeholders filled, on one line whatever the values hold."""
    return " ".join(render(subject, values).split())
