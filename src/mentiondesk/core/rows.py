"""Insert and update many model instances in few statements, for hot write paths (ingest).

`bulk_create` compiles every value of every row into SQL one at a time (about 5 µs a value,
bench/RESULTS.md). Here each field's conversion is chosen once per call, values of the plain
Python type a column takes (str, int, bool, None) go to the driver unchanged, and the rest go
through the same `connection.ops` adapters or field methods the ORM uses, so the rows stored
are the ones `bulk_create` would store. Columns come from the model's concrete fields, so the
helper stays right when models gain fields. What it cannot do exactly (database defaults,
custom placeholders) it hands to `bulk_create`.

No signals are sent (neither does `bulk_create`); triggers run as for any INSERT or UPDATE."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import NOT_PROVIDED
from django.db.models.constants import OnConflict
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

NoneType = type(None)
M = TypeVar("M", bound=models.Model)

# Field classes whose `get_db_prep_save` returns a value of these types unchanged. Exact
# classes only: a subclass may convert, so it takes the field's own path.
PLAIN: dict[type[models.Field[Any, Any]], tuple[type, ...]] = {
    models.CharField: (str, NoneType),
    models.TextField: (str, NoneType),
    models.SlugField: (str, NoneType),
    models.EmailField: (str, NoneType),
    models.URLField: (str, NoneType),
    models.BooleanField: (bool, NoneType),
    models.IntegerField: (int, NoneType),
    models.BigIntegerField: (int, NoneType),
    models.SmallIntegerField: (int, NoneType),
    models.PositiveIntegerField: (int, NoneType),
    models.PositiveBigIntegerField: (int, NoneType),
    models.PositiveSmallIntegerField: (int, NoneType),
    models.AutoField: (int, NoneType),
    models.BigAutoField: (int, NoneType),
    models.SmallAutoField: (int, NoneType),
}


class _Column:
    """How one field's value goes from an instance to the driver, decided once per call."""

    __slots__ = ("attname", "convert", "field", "plain", "pre_save", "relation", "stamp")

    def __init__(
        self,
        field: models.Field[Any, Any],
        connection: BaseDatabaseWrapper,
        *,
        add: bool,
        now: datetime,
        adapted: dict[datetime, Any],
    ) -> None:
        self.field = field
        self.attname = field.attname
        kind = type(field)
        target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
        # What DateTimeField.pre_save does for auto_now (and auto_now_add when adding), with
        # one moment for the whole statement instead of one per row.
        self.stamp = (
            now
            if kind is models.DateTimeField and (field.auto_now or (field.auto_now_add and add))  # type: ignore[attr-defined]
            else None
        )
        # pre_save only where it does more than read the attribute (unknown field classes),
        # as save() and bulk_create would.
        self.pre_save = kind not in PLAIN and kind not in (
            models.DateTimeField,
            models.JSONField,
            models.ForeignKey,
        )
        self.relation = field if field.many_to_one else None
        self.plain: tuple[type, ...] = ()
        self.convert: Callable[[Any], Any] = lambda v: field.get_db_prep_save(v, connection)
        if kind in PLAIN or (kind is models.ForeignKey and type(target) in PLAIN):
            self.plain = PLAIN[kind if kind in PLAIN else type(target)]
            if str in self.plain:
                # Text choices are str subclasses; the ORM hands them over as they are too.
                self.convert = lambda v: (
                    v if isinstance(v, str) else field.get_db_prep_save(v, connection)
                )
        elif kind is models.DateTimeField and settings.USE_TZ:
            adapt_datetime = connection.ops.adapt_datetimefield_value

            def convert_datetime(v: Any) -> Any:
                if not isinstance(v, datetime) or v.tzinfo is None:
                    return field.get_db_prep_save(v, connection)  # the ORM's warnings
                # A ticket, its first post and its event share their times: adapt each once.
                if v not in adapted:
                    adapted[v] = adapt_datetime(v)
                return adapted[v]

            self.plain = (NoneType,)
            self.convert = convert_datetime
        elif kind is models.JSONField:
            adapt_json = connection.ops.adapt_json_value
            encoder = field.encoder  # type: ignore[attr-defined]
            self.plain = (NoneType,)  # None is SQL NULL, as JSONField.get_db_prep_save has it
            self.convert = lambda v: (
                adapt_json(v, encoder)
                if type(v) in (dict, list)
                else field.get_db_prep_save(v, connection)
            )


def _columns(
    fields: Sequence[models.Field[Any, Any]], connection: BaseDatabaseWrapper, *, add: bool
) -> list[_Column]:
    now = timezone.now()
    adapted: dict[datetime, Any] = {}
    return [_Column(f, connection, add=add, now=now, adapted=adapted) for f in fields]


def _values(obj: models.Model, columns: list[_Column], *, add: bool) -> list[Any]:
    row = []
    for column in columns:
        if column.stamp is not None:
            value = column.stamp
            setattr(obj, column.attname, value)
        elif column.pre_save:
            value = column.field.pre_save(obj, add)
        else:
            value = getattr(obj, column.attname)
        if value is None and column.relation is not None:
            value = _related_pk(obj, column.relation)
        row.append(value if type(value) in column.plain else column.convert(value))
    return row


def _related_pk(obj: models.Model, field: models.Field[Any, Any]) -> Any:
    """A foreign key set as an object saved after it was assigned (a new ticket's posts)
    takes the object's id now, as save() and bulk_create do. Raises ValueError when the
    object is still unsaved."""
    if not field.is_cached(obj):  # type: ignore[attr-defined]
        return None
    related = field.get_cached_value(obj)  # type: ignore[attr-defined]
    if related is None:
        return None
    if related.pk is None:
        raise ValueError(f"{type(obj).__name__}.{field.name}: the related object is not saved")
    # Through the object's descriptor, as Django does: setting the id alone would drop the
    # cached object, and the next `obj.<field>` would cost a query.
    setattr(obj, field.name, related)
    return related.pk


def insert_columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The fields an INSERT of `model` writes: every concrete field the database does not
    compute, the primary key only when it is not an auto field."""
    return [
        f
        for f in model._meta.concrete_fields
        if not f.generated and not (f.primary_key and isinstance(f, AutoFieldMixin))
    ]


def insert_values(
    objs: Sequence[models.Model],
    fields: list[models.Field[Any, Any]],
    *,
    connection: BaseDatabaseWrapper,
) -> list[list[Any]]:
    """The parameters an INSERT of `objs` into `fields` takes, converted for `connection`
    (auto_now fields are stamped on the instances, as by save())."""
    columns = _columns(fields, connection, add=True)
    return [_values(obj, columns, add=True) for obj in objs]


def _handled_by_orm(fields: list[models.Field[Any, Any]]) -> bool:
    """Fields this module cannot insert exactly: database defaults, custom placeholders."""
    return any(f.db_default is not NOT_PROVIDED or hasattr(f, "get_placeholder") for f in fields)


def rows_insert(
    objs: Sequence[models.Model], *, ignore_conflicts: bool = False, using: str = "default"
) -> None:
    """INSERT `objs` (instances of one model, primary keys unset) like `bulk_create`.

    Without `ignore_conflicts`: multi-row INSERT … RETURNING, and each instance gets its id.
    With it: one executemany of INSERT … ON CONFLICT DO NOTHING (SQLite: INSERT OR IGNORE);
    rows that conflict are skipped and ids are not set, as with `bulk_create`."""
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    fields = insert_columns(model)
    if _handled_by_orm(fields) or any(obj.pk is not None for obj in objs):
        model._base_manager.using(using).bulk_create(objs, ignore_conflicts=ignore_conflicts)
        return
    connection = connections[using]
    ops = connection.ops
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    head = (
        f"{ops.insert_statement(on_conflict=on_conflict)} {ops.quote_name(meta.db_table)} "
        f"({', '.join(ops.quote_name(f.column) for f in fields)})"
    )
    suffix = ops.on_conflict_suffix_sql(fields, on_conflict, None, None)
    rows = insert_values(objs, fields, connection=connection)
    marks = ["%s"] * len(fields)
    with connection.cursor() as cursor:
        if ignore_conflicts:
            # Names from our own models; every value is a parameter.
            # django-stubs types each placeholder row as a str; Django takes a sequence of them.
            sql = f"{head} {ops.bulk_insert_sql(fields, [marks])} {suffix}"  # type: ignore[list-item]
            cursor.executemany(sql, rows)
        else:
            returning, _ = ops.return_insert_columns([meta.pk])
            batch = ops.bulk_batch_size(fields, objs)
            for start in range(0, len(rows), batch):
                chunk = rows[start : start + batch]
                values = ops.bulk_insert_sql(fields, [marks] * len(chunk))  # type: ignore[list-item]
                cursor.execute(f"{head} {values} {returning}", [v for row in chunk for v in row])
                # Rows come back in VALUES order, as bulk_create relies on too.
                for obj, (pk,) in zip(objs[start : start + batch], cursor.fetchall(), strict=True):
                    obj.pk = pk
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using


def rows_update(
    objs: Sequence[models.Model], *, fields: Sequence[str], using: str = "default"
) -> None:
    """UPDATE `fields` of `objs` (saved instances of one model) by primary key: one
    executemany. auto_now fields among `fields` are stamped, as by save(update_fields=…)."""
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    connection = connections[using]
    ops = connection.ops
    # `fields` names concrete fields (bulk_update refuses others too); get_field's type also
    # covers reverse relations.
    targets = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in fields]
    if _handled_by_orm(targets):
        model._base_manager.using(using).bulk_update(objs, list(fields))
        return
    columns = _columns([*targets, meta.pk], connection, add=False)
    assignments = ", ".join(f"{ops.quote_name(f.column)} = %s" for f in targets)
    sql = (
        f"UPDATE {ops.quote_name(meta.db_table)} SET {assignments} "  # noqa: S608 (our names)
        f"WHERE {ops.quote_name(meta.pk.column)} = %s"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [_values(obj, columns, add=False) for obj in objs])


def instance_from_row(model: type[M], row: Sequence[Any], *, connection: BaseDatabaseWrapper) -> M:
    """An instance of `model` from a row holding every concrete field's column in model
    order (as `select_columns` lists them), through the converters a query would apply."""
    table = model._meta.db_table
    values = []
    for field, value in zip(model._meta.concrete_fields, row, strict=True):
        col = field.get_col(table)
        for convert in [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]:
            value = convert(value, col, connection)
        values.append(value)
    return model.from_db(connection.alias, [f.attname for f in model._meta.concrete_fields], values)


def select_columns(model: type[models.Model], *, connection: BaseDatabaseWrapper) -> str:
    """Every concrete column of `model`, qualified by its table, in model order."""
    table = connection.ops.quote_name(model._meta.db_table)
    return ", ".join(
        f"{table}.{connection.ops.quote_name(f.column)}" for f in model._meta.concrete_fields
    )
