"""SQL for searching runs: parsed filters and sort keys become parameterized SQL.

Values are always bound parameters; the only text spliced into SQL comes from the fixed tables
below (column and table names), never from the user.

Keyed fields (params, tags, metrics) take one of two forms, and a run lacking the key never
matches either (only ``IS NULL`` inverts that):

* ``r.run_key IN (SELECT t.run_key FROM <table> t WHERE t.key = ? AND <test>)``: evaluated once
  through the ``(key, value, run_key)`` index into a set of integers. Cost grows with the number
  of matching rows, not of runs: right for a whole-store search.
* ``EXISTS (SELECT 1 FROM <table> t WHERE t.key = ? AND t.run_key = r.run_key AND <test>)``
  (``correlated``): one index probe per run looked at. Right when only the newest few thousand
  runs are looked at; up to 5 times slower than the set form when all 100,000 runs are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlproj.tracking.db import placeholders
from mlproj.tracking.filters import And, Comparison, Expr, Field, Kind, Not, Or, SortKey, Value
from mlproj.tracking.models import RunStatus
from mlproj.tracking.runsql import RUNS_FROM

#: attribute -> (SQL expression, nullable). Keys equal filters.ATTRIBUTES (a test checks it).
COLUMNS: dict[str, tuple[str, bool]] = {
    "status": ("r.status", False),
    "run_id": ("r.run_id", False),
    "run_name": ("r.run_name", False),
    "experiment": ("e.name", False),
    "experiment_id": ("r.experiment_id", False),
    "entry_point": ("r.entry_point", False),
    "exit_code": ("r.exit_code", True),
    "start_time": ("r.start_time", False),
    "end_time": ("r.end_time", True),
    "user": ("r.user_name", False),
    "host": ("r.host", False),
    "source_uri": ("r.source_uri", False),
    "source_version": ("r.source_version", True),
    "source_commit": ("r.source_commit", True),
    "env_manager": ("r.env_manager", False),
    "env_key": ("r.env_key", True),
}
_TABLES = {Kind.PARAM: "params", Kind.TAG: "tags", Kind.METRIC: "latest_metrics"}
_NUMERIC_OPS = frozenset({"<", "<=", ">", ">="})
_EXPERIMENT = Field(Kind.ATTRIBUTE, "experiment")
# run_key follows creation order: runs started in the same millisecond keep their order.
_TIEBREAK = "r.start_time DESC, r.run_key DESC"
# LIMIT without a bound is spelled differently in SQLite (-1) and PostgreSQL (ALL).
_NO_LIMIT = 2**62


@dataclass(frozen=True, slots=True)
class Sql:
    """SQL text with its bound parameters, in order."""

    text: str
    params: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class RunQuery:
    """Which runs a search or count selects."""

    experiment_id: str | None = None
    status: RunStatus | None = None
    filter: Expr | None = None
    #: Only runs started at or after this time, with the filter tested run by run (see
    #: :func:`mlproj.tracking.queries.search_keys`).
    since: int | None = None


def select_run_keys(query: RunQuery, sort: SortKey | None, limit: int | None, offset: int) -> Sql:
    """``SELECT`` of the keys of one page of runs, in the requested order.

    Only keys are selected and sorted: sorting thousands of matches with every column attached
    cost a third of the filtered search. :func:`~mlproj.tracking.runsql.select_runs_by_key` then
    fetches the page.
    """
    join, order = _order(sort)
    where = _where(query)
    experiment_named = sort is not None and sort.field == _EXPERIMENT
    source = _source(query, experiment_named)
    return Sql(
        f"SELECT r.run_key {source}{join.text}{where.text} ORDER BY {order} LIMIT ? OFFSET ?",
        (*join.params, *where.params, _NO_LIMIT if limit is None else limit, offset),
    )


def count_runs(query: RunQuery) -> Sql:
    """``SELECT COUNT(*)`` of the runs a query selects."""
    where = _where(query)
    return Sql(f"SELECT COUNT(*) {_source(query, False)}{where.text}", where.params)


def _source(query: RunQuery, experiment_named: bool) -> str:
    """The FROM clause: experiments are joined only when the filter or sort names them."""
    if experiment_named or (query.filter is not None and _mentions(query.filter, _EXPERIMENT)):
        return RUNS_FROM
    return "FROM runs r"


def _mentions(expr: Expr, field: Field) -> bool:
    if isinstance(expr, And | Or):
        return _mentions(expr.left, field) or _mentions(expr.right, field)
    if isinstance(expr, Not):
        return _mentions(expr.operand, field)
    return expr.field == field


def _where(query: RunQuery) -> Sql:
    parts: list[Sql] = []
    if query.experiment_id is not None:
        parts.append(Sql("r.experiment_id = ?", (query.experiment_id,)))
    if query.status is not None:
        parts.append(Sql("r.status = ?", (query.status.value,)))
    if query.since is not None:
        parts.append(Sql("r.start_time >= ?", (query.since,)))
    if query.filter is not None:
        parts.append(condition(query.filter, correlated=query.since is not None))
    if not parts:
        return Sql("")
    return Sql(
        " WHERE " + " AND ".join(f"({part.text})" for part in parts),
        tuple(param for part in parts for param in part.params),
    )


def condition(expr: Expr, *, correlated: bool = False) -> Sql:
    """The SQL condition for a parsed filter expression.

    Keyed fields become ``IN`` subqueries, or with ``correlated`` ``EXISTS`` subqueries probed
    once per run (cheaper when only a few thousand runs are looked at).
    """
    if isinstance(expr, And | Or):
        left = condition(expr.left, correlated=correlated)
        right = condition(expr.right, correlated=correlated)
        word = "AND" if isinstance(expr, And) else "OR"
        return Sql(f"({left.text}) {word} ({right.text})", left.params + right.params)
    if isinstance(expr, Not):
        inner = condition(expr.operand, correlated=correlated)
        return Sql(f"NOT ({inner.text})", inner.params)
    return _comparison(expr, correlated)


def _comparison(comp: Comparison, correlated: bool) -> Sql:
    field = comp.field
    if field.kind is Kind.ATTRIBUTE:
        column, _ = COLUMNS[field.key]
        if comp.op in ("IS NULL", "IS NOT NULL"):
            return Sql(f"{column} {comp.op}")
        return _test(column, comp.op, comp.values, numeric=field.numeric)
    # The table name comes from _TABLES, never from the user; the key is a bound parameter.
    rows = f"FROM {_TABLES[field.kind]} t WHERE t.key = ?"
    if correlated:
        rows += " AND t.run_key = r.run_key"
    if comp.op in ("IS NULL", "IS NOT NULL"):
        test = Sql("")
    else:
        numeric = field.kind is Kind.METRIC
        column = "t.value"
        if not numeric and comp.op in _NUMERIC_OPS and comp.values[0].number is not None:
            # params.alpha > 0.1 compares numbers; params.alpha > '0.1' compares text.
            numeric, column = True, "t.num_value"
        test = _test(column, comp.op, comp.values, numeric=numeric)
        rows += f" AND {test.text}"
    negation = "NOT " if comp.op == "IS NULL" else ""
    if correlated:
        return Sql(f"{negation}EXISTS (SELECT 1 {rows})", (field.key, *test.params))
    return Sql(f"r.run_key {negation}IN (SELECT t.run_key {rows})", (field.key, *test.params))


def _test(column: str, op: str, values: tuple[Value, ...], *, numeric: bool) -> Sql:
    bound = tuple(value.number if numeric else value.text for value in values)
    if op.endswith("IN"):
        return Sql(f"{column} {op} ({placeholders(len(bound))})", bound)
    if op.endswith("ILIKE"):
        negation = "NOT " if op.startswith("NOT") else ""
        return Sql(f"LOWER({column}) {negation}LIKE LOWER(?)", bound)
    if op == "!=":
        return Sql(f"{column} <> ?", bound)
    return Sql(f"{column} {op} ?", bound)


def _order(sort: SortKey | None) -> tuple[Sql, str]:
    """The extra join and the ORDER BY list; runs lacking the key always come last."""
    if sort is None:
        return Sql(""), _TIEBREAK
    direction = "DESC" if sort.descending else "ASC"
    field = sort.field
    if field.kind is Kind.ATTRIBUTE:
        column, nullable = COLUMNS[field.key]
        missing_last = f"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, " if nullable else ""
        return Sql(""), f"{missing_last}{column} {direction}, {_TIEBREAK}"
    join = Sql(
        f" LEFT JOIN {_TABLES[field.kind]} s ON s.run_key = r.run_key AND s.key = ?", (field.key,)
    )
    if field.kind is Kind.METRIC:
        return join, (
            f"CASE WHEN s.value IS NULL THEN 1 ELSE 0 END, s.value {direction}, {_TIEBREAK}"
        )
    # Text keys: numbers first in numeric order, then other text, then runs without the key.
    rank = "CASE WHEN s.value IS NULL THEN 2 WHEN s.num_value IS NULL THEN 1 ELSE 0 END"
    return join, f"{rank}, s.num_value {direction}, s.value {direction}, {_TIEBREAK}"
