"""ORM queries compiled once per database connection, for the few reads every token request makes."""

import weakref
from dataclasses import dataclass

from django.db import connections
from django.db.models.query import get_related_populators


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
