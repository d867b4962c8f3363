"""Full-text search over contacts with PostgreSQL's built-in text search.

The embedded PostgreSQL has no extensions (no `unaccent`, no `pg_trgm`), so
accents and case are folded here, in Python, both when a contact's document is
written and when a query is read. Names weigh most (A), then email (B), then the
company name (C). Every query word of two characters or more matches as a prefix.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")
MAX_QUERY_WORDS = 8
# PostgreSQL's longest lexeme, in bytes: `to_tsvector` leaves longer words out of
# documents, and a `tsquery` holding one is an error.
MAX_LEXEME_BYTES = 2047
# `contacts.search_name` is varchar(401): two names of 200 characters and a space.
# Folding can make text longer (`ß` -> `ss`, `ﬃ` -> `ffi`), so folded words are
# cut to fit; a query's words are cut the same way, so exact matches still meet.
MAX_FOLDED_CHARACTERS = 401
# A lexeme no document holds (documents' words have no `_`; the tenant's lexeme has
# its id after it): the query for a word too long to be in any document.
_NO_DOCUMENT = "'_'"


def fold(text: str) -> str:
    """Lower case, accents removed: `Zoë Ångström` -> `zoe angstrom`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str | None) -> str:
    """The folded words of `text`, space-separated (punctuation, `@` and `.` split words),
    at most MAX_FOLDED_CHARACTERS long."""
    return " ".join(_WORD.findall(fold(text or "")))[:MAX_FOLDED_CHARACTERS].rstrip()


# The document: the three weighted parts, and the tenant's own lexeme (`_` and the
# company id's hex digits). No query word can start with `_`, so only the tenant's
# searches name it: the GIN index then finds a company's matches by itself,
# without intersecting them with every record of the company.
DOCUMENT_SQL = (
    "setweight(to_tsvector('simple', {names}), 'A') || "
    "setweight(to_tsvector('simple', {email}), 'B') || "
    "setweight(to_tsvector('simple', {company}), 'C') || "
    "array_to_tsvector(ARRAY['_' || replace({tenant}::uuid::text, '-', '')])"
)


def tenant_lexeme(company_id: str) -> str:
    return "_" + company_id.replace("-", "")


def document_parts(
    first_name: str, last_name: str, email: str | None, company_name: str | None
) -> tuple[str, str, str]:
    """The folded words of the names, the email and the company name.

    The first part is also the contact's `search_name`: a query equal to it is an
    exact full-name match.
    """
    return words(f"{first_name} {last_name}"), words(email), words(company_name)


def to_tsquery(q: str) -> str | None:
    """A `tsquery` text of `q`: every word as a prefix, all required; None without words.

    Only folded letters and digits, each quoted, reach PostgreSQL: no query syntax
    can be injected. Cast with `::tsquery` (already normalised as documents are).
    """
    found = _WORD.findall(fold(q))[:MAX_QUERY_WORDS]
    if not found:
        return None
    # A single character matches itself only: as a prefix it would match most of
    # a company, to rank nothing useful.
    return " & ".join(
        _NO_DOCUMENT
        if len(word.encode()) > MAX_LEXEME_BYTES
        else f"'{word}':*"
        if len(word) > 1
        else f"'{word}'"
        for word in found
    )


def in_tenant(tsquery: str, company_id: str) -> str:
    """`tsquery` restricted to the company's own documents."""
    return f"'{tenant_lexeme(company_id)}' & ({tsquery})"
