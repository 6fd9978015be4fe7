"""ORM queries compiled once per database connection, for the few reads every token request makes."""

import weakref
from dataclasses import dataclass

from django.db import connections
from django.db.models import signals
from django.db.models.query import get_related_populators
from django.db.models.sql import InsertQuery


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: list  # per parameter: the name of the value bound there, or None for a constant of the query
    converters: list  # the backend's column converters, as the ORM applies them
    model: type | None  # what rows become with instances(): the queried model, fields [start, end) of a row
    init_list: list
    start: int
    end: int
    related: list  # Django's populators for what the query select_related()s


class PreparedQuery:
    """An ORM query compiled to SQL once per database connection, then run with new parameters.

    Django compiles a QuerySet on every evaluation: for the token query that was 0.3 ms of CPU, most of what an
    introspection cost. The SQL text and the column converters are still the ORM's own (table names, joins, quoting,
    datetime and JSON conversion per backend); only the compilation is reused. `build(**samples)` returns the
    QuerySet for sample parameter values of the right types, values no query would contain otherwise; wherever the
    compiled parameters hold a sample, each run binds the value given for it. Compiled per connection wrapper (each
    thread has its own), so nothing is shared across threads.

    `rows()` gives the rows of a values_list() query; `instances()` the model instances of a model query, with what
    it select_related()s attached, built the way Django's ModelIterable builds them.
    """

    def __init__(self, build, **samples):
        self.build = build
        self.samples = samples
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def rows(self, using: str = "default", **values) -> list[list]:
        return self._run(connections[using], values)[1]

    def instances(self, using: str = "default", **values) -> list:
        compiled, rows = self._run(connections[using], values)
        objects = []
        for row in rows:
            instance = compiled.model.from_db(using, compiled.init_list, row[compiled.start : compiled.end])
            for populator in compiled.related:
                populator.populate(row, instance)
            objects.append(instance)
        return objects

    def _run(self, connection, values: dict) -> tuple[_Compiled, list[list]]:
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = self._compile(connection)
        bound = [values[slot] if slot else param for param, slot in zip(compiled.params, compiled.slots, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, bound)
            rows = [list(row) for row in cursor.fetchall()]
        for row in rows:
            for position, (functions, expression) in compiled.converters:
                for convert in functions:
                    row[position] = convert(row[position], expression, connection)
        return compiled, rows

    def _compile(self, connection) -> _Compiled:
        compiler = self.build(**self.samples).query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        slots = [next((name for name, sample in self.samples.items() if param == sample), None) for param in params]
        if set(self.samples) - set(slots):
            raise ValueError(f"{self.build.__name__}: a sample parameter is missing from the compiled query")
        columns = [column for column, _, _ in compiler.select[: compiler.col_count]]
        converters = list(compiler.get_converters(columns).items())
        model, init_list, start, end, related = None, [], 0, 0, []
        klass_info = compiler.klass_info
        if klass_info and not compiler.annotation_col_map:
            model = klass_info["model"]
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            init_list = [column[0].target.attname for column in compiler.select[start:end]]
            related = get_related_populators(klass_info, compiler.select, connection.alias)
        return _Compiled(sql, tuple(params), slots, converters, model, init_list, start, end, related)


_INSERTS: dict = {}  # (model, database alias) -> (the INSERT's SQL, the fields it binds, in order)


def insert(instance, *, using: str = "default") -> None:
    """`instance.save(force_insert=True)` for a new row, with its INSERT compiled once per model and database.

    Model.save() builds an InsertQuery, a compiler and the SQL text for every row, about half of what writing a row
    costs in CPU: the token endpoint writes four per code exchange. Here the SQL is Django's own, compiled from the
    first instance; each row binds what Django's compiler would (each field's pre_save(), so auto_now_add, defaults
    and DOT's token checksums, then get_db_prep_save()), and the primary key comes back from RETURNING as with
    save(). Whatever this does not reproduce goes through save() itself: save signal receivers, a parent model,
    columns the database computes other than the key, a value that is an SQL expression. Model.save() overrides
    are not called: for new rows of the models it is used for (tokens, audit events, redeemed codes) they do nothing.
    """
    model = type(instance)
    meta = model._meta
    connection = connections[using]
    if (
        meta.parents
        or signals.pre_save.has_listeners(model)
        or signals.post_save.has_listeners(model)
        or meta.db_returning_fields != [meta.pk]
        or not connection.features.can_return_columns_from_insert
    ):
        instance.save(force_insert=True, using=using)
        return
    statement = _INSERTS.get((model, using))
    fields = statement[1] if statement else _insert_fields(meta)
    if any(hasattr(getattr(instance, field.attname), "resolve_expression") for field in fields):
        instance.save(force_insert=True, using=using)
        return
    instance._prepare_related_fields_for_save(operation_name="save")  # save()'s check: no unsaved related object
    if statement is None:
        query = InsertQuery(model)
        query.insert_values(fields, [instance])
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = [meta.pk]
        [(sql, _)] = compiler.as_sql()
        statement = _INSERTS[(model, using)] = (sql, fields)
    sql = statement[0]
    # After compiling (which ran pre_save too): the instance keeps the values its row gets, as with save().
    values = [field.pre_save(instance, add=True) for field in fields]
    params = [field.get_db_prep_save(value, connection=connection) for field, value in zip(fields, values, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (key,) = connection.ops.fetch_returned_insert_columns(cursor, ())
    setattr(instance, meta.pk.attname, key)
    instance._state.adding = False
    instance._state.db = using


def _insert_fields(meta) -> list:
    """The columns Model.save() inserts for a model whose key the database assigns."""
    return [field for field in meta.local_concrete_fields if not field.generated and field is not meta.pk]
