"""The ``--filter`` and ``--sort`` languages: a tokenizer and a recursive-descent parser.

The grammar is MLflow's search syntax, with ``or``, ``not`` and parentheses added::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := field op value
                | field ["not"] "in" "(" value ("," value)* ")"
                | field ["not"] ("like" | "ilike") value
                | field "is" ["not"] "null"
    field      := (params|metrics|tags|attributes) "." KEY | ATTRIBUTE
    sort       := ["-"] field ["asc" | "desc"]

The result is a small tree of frozen dataclasses; :mod:`mlproj.tracking.sqlgen` turns it into
parameterized SQL. Every error is a one-line :class:`UsageError` naming the column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

from mlproj.errors import UsageError
from mlproj.tracking.lexer import Token, tokenize
from mlproj.tracking.models import RunStatus


class Kind(str, Enum):
    """Which part of a run a field names."""

    PARAM = "params"
    METRIC = "metrics"
    TAG = "tags"
    ATTRIBUTE = "attributes"


#: Attributes a filter or sort may name, and whether each is a number (else text).
ATTRIBUTES: dict[str, bool] = {
    "status": False,
    "run_id": False,
    "run_name": False,
    "experiment": False,
    "experiment_id": False,
    "entry_point": False,
    "exit_code": True,
    "start_time": True,
    "end_time": True,
    "user": False,
    "host": False,
    "source_uri": False,
    "source_version": False,
    "source_commit": False,
    "env_manager": False,
    "env_key": False,
}

_PREFIXES: dict[str, Kind] = {
    "params": Kind.PARAM, "param": Kind.PARAM, "parameter": Kind.PARAM,
    "parameters": Kind.PARAM, "metrics": Kind.METRIC, "metric": Kind.METRIC,
    "tags": Kind.TAG, "tag": Kind.TAG, "attributes": Kind.ATTRIBUTE,
    "attribute": Kind.ATTRIBUTE, "attr": Kind.ATTRIBUTE, "run": Kind.ATTRIBUTE,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Field:
    """A column of a run: a param, metric or tag key, or an attribute name."""

    kind: Kind
    key: str

    @property
    def numeric(self) -> bool:
        """True when values of this field compare as numbers."""
        return self.kind is Kind.METRIC or (self.kind is Kind.ATTRIBUTE and ATTRIBUTES[self.key])

    def __str__(self) -> str:
        return self.key if self.kind is Kind.ATTRIBUTE else f"{self.kind.value}.{self.key}"


@dataclass(frozen=True, slots=True)
class Value:
    """A literal: its text, and its number when it was written as a number."""

    text: str
    number: float | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    """``field op values``; ``op`` is upper case (``=``, ``NOT IN``, ``IS NULL``...)."""

    field: Field
    op: str
    values: tuple[Value, ...] = ()


@dataclass(frozen=True, slots=True)
class And:
    """Both sides match."""

    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Or:
    """Either side matches."""

    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Not:
    """The operand does not match."""

    operand: Expr


Expr: TypeAlias = "Comparison | And | Or | Not"


@dataclass(frozen=True, slots=True)
class SortKey:
    """What ``--sort`` asked for."""

    field: Field
    descending: bool = False


def parse_filter(text: str | None) -> Expr | None:
    """Parse a ``--filter`` expression (None or blank: no filter).

    Raises:
        UsageError: The expression is malformed; the message names the column.
    """
    if text is None or not text.strip():
        return None
    parser = _Parser(tokenize(text, "filter"), "filter")
    expr = parser.expression()
    parser.expect_end()
    return expr


def parse_sort(text: str) -> SortKey:
    """Parse a ``--sort`` key: a field, then ``ASC``/``DESC``, or a leading ``-`` for descending.

    Raises:
        UsageError: The key is malformed or names an unknown attribute.
    """
    stripped = text.strip()
    descending = stripped.startswith("-")
    # Blank out the "-" rather than cut it, so error columns still match what the user typed.
    parser = _Parser(tokenize(" " + stripped[1:] if descending else stripped, "sort"), "sort")
    field = parser.field()
    direction = parser.peek()
    if direction.kind == "ident" and direction.prefix is None:
        if direction.value.upper() not in ("ASC", "DESC") or stripped.startswith("-"):
            raise parser.error(f"expected ASC, DESC or the end, got '{direction.value}'", direction)
        descending = direction.value.upper() == "DESC"
        parser.advance()
        parser.expect_end("the end")
    parser.expect_end("ASC, DESC or the end")
    return SortKey(field, descending)


class _Parser:
    """Recursive descent over a token list; one method per grammar rule."""

    def __init__(self, tokens: list[Token], what: str) -> None:
        self._tokens = tokens
        self._index = 0
        self._what = what

    def peek(self) -> Token:
        return self._tokens[self._index]

    def advance(self) -> Token:
        token = self._tokens[self._index]
        self._index = min(self._index + 1, len(self._tokens) - 1)
        return token

    def accept(self, kind: str, value: str) -> bool:
        token = self.peek()
        if token.kind == kind and token.value == value:
            self.advance()
            return True
        return False

    def error(self, problem: str, token: Token, hint: str = "") -> UsageError:
        suffix = f" ({hint})" if hint else ""
        return UsageError(f"{self._what}: {problem} at column {token.column}{suffix}")

    def expect_end(self, expected: str = "'and', 'or' or the end") -> None:
        token = self.peek()
        if token.kind != "end":
            raise self.error(f"expected {expected}, got '{token.value}'", token)

    def expression(self) -> Expr:
        expr = self._and()
        while self.accept("keyword", "OR"):
            expr = Or(expr, self._and())
        return expr

    def _and(self) -> Expr:
        expr = self._not()
        while self.accept("keyword", "AND"):
            expr = And(expr, self._not())
        return expr

    def _not(self) -> Expr:
        if self.accept("keyword", "NOT"):
            return Not(self._not())
        if self.accept("punct", "("):
            expr = self.expression()
            if not self.accept("punct", ")"):
                found = f"'{self.peek().value}'" if self.peek().value else "the end"
                raise self.error(f"expected ')', got {found}", self.peek())
            return expr
        return self._comparison()

    def field(self) -> Field:
        token = self.advance()
        if token.kind != "ident":
            found = f"'{token.value}'" if token.value else "the end"
            raise self.error(
                f"expected a field such as params.alpha, metrics.rmse or status, got {found}", token
            )
        if token.prefix is None:
            return Field(Kind.ATTRIBUTE, self._attribute(token.value, token))
        kind = _PREFIXES.get(token.prefix.lower())
        if kind is None:
            raise self.error(
                f"unknown prefix '{token.prefix}'", token, _did_you_mean(token.prefix, _PREFIXES)
            )
        if kind is Kind.ATTRIBUTE:
            return Field(kind, self._attribute(token.value, token))
        return Field(kind, token.value)

    def _attribute(self, name: str, token: Token) -> str:
        if name.lower() in ATTRIBUTES:
            return name.lower()  # case-insensitive, like the keywords
        hint = _did_you_mean(name, ATTRIBUTES) or (
            "use params.KEY, metrics.KEY, tags.KEY or one of " + ", ".join(ATTRIBUTES)
        )
        raise self.error(f"unknown attribute '{name}'", token, hint)

    def _comparison(self) -> Comparison:
        field = self.field()
        token = self.advance()
        if token.kind == "op":
            op = "=" if token.value == "==" else token.value
            return _checked(self, field, op, (self._value(token.value),), token)
        negated = token.kind == "keyword" and token.value == "NOT"
        if negated:
            token = self.advance()
        if token.kind == "keyword" and token.value == "IS" and not negated:
            op = "IS NOT NULL" if self.accept("keyword", "NOT") else "IS NULL"
            if not self.accept("keyword", "NULL"):
                raise self.error(f"expected NULL after '{op[:-5]}'", self.peek())
            return Comparison(field, op)
        prefix = "NOT " if negated else ""
        if token.kind == "keyword" and token.value == "IN":
            return _checked(self, field, f"{prefix}IN", self._value_list(), token)
        if token.kind == "keyword" and token.value in ("LIKE", "ILIKE"):
            return _checked(self, field, prefix + token.value, (self._value(token.value),), token)
        found = f"'{token.value}'" if token.value else "the end"
        raise self.error(
            f"expected an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS NULL) after "
            f"'{field}', got {found}",
            token,
        )

    def _value(self, after: str) -> Value:
        token = self.advance()
        if token.kind == "string":
            return Value(token.value)
        if token.kind == "number":
            return Value(token.value, float(token.value))
        raise self.error(f"expected a value after '{after}'", token, _quote_hint(token))

    def _value_list(self) -> tuple[Value, ...]:
        if not self.accept("punct", "("):
            raise self.error("expected '(' after IN", self.peek())
        values = [self._value("(")]
        while self.accept("punct", ","):
            values.append(self._value(","))
        if not self.accept("punct", ")"):
            raise self.error("expected ',' or ')' in the IN list", self.peek())
        return tuple(values)


def _checked(
    parser: _Parser, field: Field, op: str, values: tuple[Value, ...], token: Token
) -> Comparison:
    """The comparison, with values converted or rejected by the field's type."""
    if field.numeric:
        if "LIKE" in op:
            raise parser.error(f"{op} does not apply to {field} (a number)", token)
        values = tuple(_as_number(parser, field, value, token) for value in values)
    elif field == Field(Kind.ATTRIBUTE, "status") and "LIKE" not in op:
        values = tuple(_as_status(parser, value, token) for value in values)
    return Comparison(field, op, values)


def _as_number(parser: _Parser, field: Field, value: Value, token: Token) -> Value:
    if value.number is not None:
        return value
    try:
        return Value(value.text, float(value.text))
    except ValueError:
        raise parser.error(f"{field} compares with a number, got '{value.text}'", token) from None


def _as_status(parser: _Parser, value: Value, token: Token) -> Value:
    statuses = [status.value for status in RunStatus]
    if value.text.upper() in statuses:
        return Value(value.text.upper())
    raise parser.error(
        f"unknown status '{value.text}'", token, "expected one of " + ", ".join(statuses)
    )


def _did_you_mean(name: str, known: Mapping[str, object]) -> str:
    import difflib  # only when reporting an error

    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean '{close[0]}'?" if close else ""


def _quote_hint(token: Token) -> str:
    if token.kind in ("ident", "keyword"):
        return f"quote text values: '{token.value}'"
    return ""
