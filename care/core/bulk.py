"""Set-based writes of many rows with different values, where Django's bulk_update is too slow.

``QuerySet.bulk_update`` writes one ``CASE WHEN pk=… THEN … END`` per field and row: building those
expressions dominates the first-notice work in Python (10 fields x 500 rows = 5,000 expressions per
UPDATE), and PostgreSQL then evaluates a CASE of 500 branches for each of the 500 rows. On PostgreSQL
``rows_update`` sends one ``UPDATE … FROM (VALUES …)`` per batch instead; elsewhere it is bulk_update.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import Field, Model

BATCH = 500
_TEXT_TYPES = frozenset({"CharField", "TextField", "EmailField", "SlugField", "URLField"})


def _cast(field: Field[object, object]) -> str:
    # Strings are cast to text, never to varchar(n): a cast to varchar(n) would silently cut a value that the
    # assignment to the column must refuse (as bulk_update would).
    if field.get_internal_type() in _TEXT_TYPES:
        return "text"
    return str(field.db_type(connection))


def rows_update(objs: Sequence[Model], *, fields: Sequence[str], batch_size: int = BATCH) -> None:
    """Write ``fields`` of each object to its row, like ``bulk_update`` (no signals, no auto_now)."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, fields=list(fields), batch_size=batch_size)
        return
    quote = connection.ops.quote_name
    pk = model._meta.pk
    assert pk is not None
    columns: list[Field[object, object]] = [pk, *(model._meta.get_field(name) for name in fields)]  # type: ignore[list-item]
    row = "(" + ", ".join(f"%s::{_cast(column)}" for column in columns) + ")"
    quoted = [quote(str(column.column)) for column in columns]
    names = ", ".join(quoted)
    assignments = ", ".join(f"{name} = v.{name}" for name in quoted[1:])
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            params = [
                column.get_db_prep_save(getattr(obj, column.attname), connection) for obj in batch for column in columns
            ]
            cursor.execute(
                f"UPDATE {quote(model._meta.db_table)} AS t SET {assignments} "  # noqa: S608 - names from the model
                f"FROM (VALUES {', '.join([row] * len(batch))}) AS v({names}) "
                f"WHERE t.{quoted[0]} = v.{quoted[0]}",
                params,
            )
