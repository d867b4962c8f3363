"""The SQL pieces every domain composes its queries from."""

from __future__ import annotations

import msgspec
import pytest

from crm.sql import Columns, Params


class Person(msgspec.Struct):
    id: str
    first: str
    last: str
    full: str
    tags: list[str]
    version: int


def full_name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


def test_columns_are_the_struct_fields_in_order_with_their_alias() -> None:
    columns = Columns(
        Person, "p", derived={"full"}, computed={"full": (("first", "last"), full_name)}
    )
    assert columns.names == ("id", "first", "last", "tags", "version")
    assert columns.sql == "p.id, p.first, p.last, p.tags, p.version"


def test_an_expression_replaces_a_column_and_is_named_after_the_field() -> None:
    columns = Columns(
        Person,
        "p",
        sql={"tags": "(SELECT array_agg(t) FROM t)"},
        derived={"full"},
        computed={"full": (("first", "last"), full_name)},
    )
    assert "(SELECT array_agg(t) FROM t) AS tags" in columns.sql
    assert columns.returning == "id, first, last, version"


def test_build_fills_derived_fields_and_replaces_computed_ones_by_position() -> None:
    columns = Columns(
        Person,
        "p",
        derived={"full"},
        computed={"full": (("first", "last"), full_name), "tags": (("tags",), sorted)},
    )
    # Extra columns after the record's (a rank, a permission) are ignored.
    row = ("p1", "Ada", "Lovelace", ["b", "a"], 3, 0.5, True)
    assert columns.build(row) == Person("p1", "Ada", "Lovelace", "Ada Lovelace", ["a", "b"], 3)


def test_a_plain_record_is_built_straight_from_the_row() -> None:
    class Tag(msgspec.Struct):
        id: str
        name: str

    assert Columns(Tag, "t").build(("t1", "vip", "ignored")) == Tag("t1", "vip")


def test_unknown_or_uncomputed_fields_are_refused_at_import_time() -> None:
    with pytest.raises(ValueError, match="no field"):
        Columns(Person, "p", sql={"nickname": "x"})
    with pytest.raises(ValueError, match="need a computation"):
        Columns(Person, "p", derived={"full"})


def test_placeholders_are_numbered_in_the_order_values_are_added() -> None:
    params = Params("company")
    assert params.placeholder("a") == "$2"
    assert params.placeholder(3) == "$3"
    assert params.values == ["company", "a", 3]
