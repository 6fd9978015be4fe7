"""ORM queries compiled once per database connection, for the few reads every token request makes."""

import weakref

from django.db import connections


class PreparedQuery:
    """An ORM query compiled to SQL once per database connection, then run with new parameters.

    Django compiles a QuerySet on every evaluation: for the token query that was 0.3 ms of CPU, most of what an
    introspection cost. The SQL text and the column converters are still the ORM's own (table names, joins, quoting,
    datetime and JSON conversion per backend); only the compilation is reused. `build(**samples)` returns the
    QuerySet for sample parameter values of the right types, values no query would contain otherwise; wherever the
    compiled parameters hold a sample, each run binds the value given for it. Compiled per connection wrapper (each
    thread has its own), so nothing is shared across threads.
    """

    def __init__(self, build, **samples):
        self.build = build
        self.samples = samples
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def rows(self, using: str = "default", **values) -> list[list]:
        connection = connections[using]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiler = self.build(**self.samples).query.get_compiler(connection=connection)
            sql, params = compiler.as_sql()
            slots = [next((name for name, sample in self.samples.items() if param == sample), None) for param in params]
            if set(self.samples) - set(slots):
                raise ValueError(f"{self.build.__name__}: a sample parameter is missing from the compiled query")
            columns = [column for column, _, _ in compiler.select[: compiler.col_count]]
            compiled = (sql, params, slots, list(compiler.get_converters(columns).items()))
            self._compiled[connection] = compiled
        sql, params, slots, converters = compiled
        bound = [values[slot] if slot else param for param, slot in zip(params, slots, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(sql, bound)
            rows = [list(row) for row in cursor.fetchall()]
        for row in rows:
            for position, (functions, expression) in converters:
                for convert in functions:
                    row[position] = convert(row[position], expression, connection)
        return rows
