"""The task queries read their columns in the order of the task record."""

from __future__ import annotations

from crm.tasks.queries import COLUMNS
from crm.tasks.schemas import Task


def test_task_columns_are_the_fields_of_the_task_record() -> None:
    assert list(COLUMNS.names) == list(Task.__struct_fields__)
