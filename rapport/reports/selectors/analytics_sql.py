"""Two small database functions the dashboards group and measure by, written natively per engine.

Django's own date functions run as Python callbacks on SQLite (to honour time zones), once per
row; over hundreds of thousands of orders or stage changes that is most of a dashboard's time.
Stored times are UTC on both engines, and the dashboards count in UTC, so the native forms are
exact.
"""

from __future__ import annotations

from django.db.models import FloatField, Func, IntegerField


class MonthIndex(Func):
    """year * 12 + month - 1 of a UTC datetime: consecutive months are consecutive integers."""

    arity = 1
    output_field = IntegerField()

    # The datetime appears twice in the SQL, so its parameters (a subquery's, say) are repeated.
    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return (f"(CAST(strftime('%%Y', {sql}) AS INTEGER) * 12 + CAST(strftime('%%m', {sql}) AS INTEGER) - 1)",
                (*params, *params))

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return (f"(CAST(EXTRACT(YEAR FROM {sql} AT TIME ZONE 'UTC') AS INTEGER) * 12"
                f" + CAST(EXTRACT(MONTH FROM {sql} AT TIME ZONE 'UTC') AS INTEGER) - 1)", (*params, *params))


class SecondsBetween(Func):
    """SecondsBetween(later, earlier): the seconds from `earlier` to `later`, as a float."""

    arity = 2
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s)) * 86400.0)",
                           arg_joiner=") - julianday(", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))",
                           arg_joiner=" - ", **extra)
