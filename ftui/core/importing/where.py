"""The `--where` row filter: comparisons of a column with a value, joined by and / or.

    satisfaction >= 4 and status == "resolved"
    (channel == "email" or channel == 'chat') and not `first reply` == ""

A tokenizer and a recursive-descent parser build a small tree; nothing is ever `eval`ed.
Precedence, loosest first: `or`, `and`, `not`, then a comparison or a parenthesised expression.
A column is a bare name (letters, digits, `_`, `.`, `-`) or, when it holds spaces, a name in
backticks or double quotes on the left of an operator. A value is a number or a quoted string.

Under a comparison with a number the cell is read as a number: an empty cell is missing (the
comparison is false), and a cell that is not a number is a problem with that row, reported as
`WhereValueError`, not a crash. Under a comparison with a string, the cell is compared as text;
a quoted number under <, <=, > or >= is refused (as text "10" < "9"): drop the quotes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

Op = Literal["==", "!=", "<", "<=", ">", ">="]
OPERATORS: tuple[Op, ...] = ("==", "!=", "<=", ">=", "<", ">")
KEYWORDS = frozenset({"and", "or", "not"})
MAX_DEPTH = 100  # parentheses and nots: far beyond a hand-written filter, far below recursion

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_NUMBER = re.compile(r"[+-]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_CELL_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


class WhereError(ValueError):
    """The expression can't be parsed: `col` (1-based) is where, the message says what was
    expected there."""

    def __init__(self, col: int, message: str) -> None:
        super().__init__(f"col {col}: {message}")
        self.col = col


class WhereValueError(ValueError):
    """A row's cell can't be compared as the expression asks (text under a number)."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: Literal["name", "column", "string", "number", "op", "lparen", "rparen", "keyword", "end"]
    text: str
    col: int  # 1-based
    value: Any = None


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "the end of the expression"
    if token.kind == "string":
        return f"the string {token.text}"
    return f"'{token.text}'"


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The quoted text starting at `start` (a quote or a backtick), and the index after it."""
    quote = text[start]
    out: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and quote != "`" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
            continue
        if char == quote:
            return "".join(out), index + 1
        out.append(char)
        index += 1
    what = "backtick" if quote == "`" else "quote"
    raise WhereError(start + 1, f"this {what} ({quote}) is never closed: add the closing {quote}")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        col = index + 1
        if char.isspace():
            index += 1
        elif char in "\"'`":
            value, end = _read_quoted(text, index)
            kind: Literal["column", "string"] = "column" if char == "`" else "string"
            tokens.append(Token(kind, text[index:end], col, value))
            index = end
        elif char == "(":
            tokens.append(Token("lparen", "(", col))
            index += 1
        elif char == ")":
            tokens.append(Token("rparen", ")", col))
            index += 1
        elif char in "<>=!":
            two = text[index : index + 2]
            if two in OPERATORS:
                tokens.append(Token("op", two, col))
                index += 2
            elif char in "<>":
                tokens.append(Token("op", char, col))
                index += 1
            elif char == "=":
                raise WhereError(col, "a single '=' is not a comparison: write '=='")
            else:
                raise WhereError(col, "expected '!=' ('!' alone means nothing here)")
        elif (number := _NUMBER.match(text, index)) is not None and (
            char.isdigit() or char in ".+-"
        ):
            raw = number.group(0)
            try:
                number_value = float(raw.replace("_", ""))
            except ValueError:
                raise WhereError(col, f"{raw!r} is not a number") from None
            tokens.append(Token("number", raw, col, number_value))
            index = number.end()
        elif (name := _NAME.match(text, index)) is not None:
            word = name.group(0)
            kind_name: Literal["keyword", "name"] = (
                "keyword" if word.lower() in KEYWORDS else "name"
            )
            tokens.append(Token(kind_name, word.lower() if kind_name == "keyword" else word, col))
            index = name.end()
        else:
            raise WhereError(col, f"unexpected character {char!r}")
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


# ------------------------------------------------------------------------------------ the tree


@dataclass(frozen=True, slots=True)
class Comparison:
    column: str
    op: Op
    value: float | str
    col: int

    def evaluate(self, row: Mapping[str, Any]) -> bool:
        cell = row.get(self.column)
        if isinstance(self.value, float):
            number = cell_number(cell, self.column)
            if number is None:
                return False  # a missing cell satisfies no numeric comparison
            return _COMPARE[self.op](number, self.value)
        text = "" if cell is None else cell if isinstance(cell, str) else _plain(cell)
        return _COMPARE[self.op](text, self.value)


@dataclass(frozen=True, slots=True)
class And:
    left: Expr
    right: Expr

    def evaluate(self, row: Mapping[str, Any]) -> bool:
        return self.left.evaluate(row) and self.right.evaluate(row)


@dataclass(frozen=True, slots=True)
class Or:
    left: Expr
    right: Expr

    def evaluate(self, row: Mapping[str, Any]) -> bool:
        return self.left.evaluate(row) or self.right.evaluate(row)


@dataclass(frozen=True, slots=True)
class Not:
    inner: Expr

    def evaluate(self, row: Mapping[str, Any]) -> bool:
        return not self.inner.evaluate(row)


Expr = Comparison | And | Or | Not


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def cell_number(cell: Any, column: str) -> float | None:
    """A cell as a number; None when it is empty; WhereValueError when it is something else."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, bool):
        raise WhereValueError(f"{column} is {_plain(cell)}, not a number")
    if isinstance(cell, int | float):
        return float(cell)
    if isinstance(cell, str) and _CELL_NUMBER.fullmatch(cell):
        number = float(cell)
        if not math.isnan(number):
            return number
    shown = cell if isinstance(cell, str) else type(cell).__name__
    if isinstance(shown, str) and len(shown) > 40:
        shown = shown[:40] + "…"
    raise WhereValueError(f"{column} is {shown!r}, not a number (in --where)")


# ---------------------------------------------------------------------------------- the parser


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at_keyword(self, word: str) -> bool:
        return self.current.kind == "keyword" and self.current.text == word

    def expression(self) -> Expr:
        left = self.conjunction()
        while self.at_keyword("or"):
            self.take()
            left = Or(left, self.conjunction())
        return left

    def conjunction(self) -> Expr:
        left = self.negation()
        while self.at_keyword("and"):
            self.take()
            left = And(left, self.negation())
        return left

    def deeper(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise WhereError(token.col, f"nested more than {MAX_DEPTH} deep: simplify the filter")

    def negation(self) -> Expr:
        if self.at_keyword("not"):
            self.deeper(self.take())
            inner = self.negation()
            self.depth -= 1
            return Not(inner)
        return self.primary()

    def primary(self) -> Expr:
        token = self.current
        if token.kind == "lparen":
            self.deeper(self.take())
            inner = self.expression()
            self.depth -= 1
            closing = self.current
            if closing.kind != "rparen":
                raise WhereError(
                    closing.col,
                    f"expected ')' to close the '(' at col {token.col}, found {_describe(closing)}",
                )
            self.take()
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        token = self.take()
        if token.kind not in ("name", "column", "string"):
            raise WhereError(token.col, f"expected a column name, found {_describe(token)}")
        op = self.take()
        if op.kind != "op":
            raise WhereError(
                op.col,
                f"expected a comparison (==, !=, <, <=, >, >=) after {token.text}, "
                f"found {_describe(op)}",
            )
        value = self.take()
        if (
            value.kind == "string"
            and op.text in ("<", "<=", ">", ">=")
            and _NUMBER.fullmatch(str(value.value).strip())
        ):
            # As text "10" < "9" and "n/a" > "3": almost never what was meant.
            raise WhereError(
                value.col,
                f"{value.text} is a number in quotes, and '{op.text}' would compare it as "
                f'text ("10" < "9"): drop the quotes to compare as numbers '
                f"({token.text} {op.text} {str(value.value).strip()})",
            )
        if value.kind in ("number", "string"):
            return Comparison(column_name(token), cast(Op, op.text), value.value, token.col)
        hint = ""
        if value.kind == "name":
            hint = f': put text in quotes ({op.text} "{value.text}")'
        raise WhereError(
            op.col,
            f"expected a value after '{op.text}' (a number or a quoted string), found "
            f"{_describe(value)} at col {value.col}{hint}",
        )


def column_name(token: Token) -> str:
    return str(token.value) if token.kind in ("column", "string") else token.text


@dataclass(frozen=True, slots=True)
class Where:
    """A parsed filter: `matches(row)` over a mapping of column name to cell."""

    text: str
    tree: Expr

    def matches(self, row: Mapping[str, Any]) -> bool:
        """Whether the row passes; WhereValueError when a cell can't be compared."""
        return self.tree.evaluate(row)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the filter reads, in the order they appear."""
        found: list[str] = []

        def walk(node: Expr) -> None:
            if isinstance(node, Comparison):
                if node.column not in found:
                    found.append(node.column)
            elif isinstance(node, Not):
                walk(node.inner)
            else:
                walk(node.left)
                walk(node.right)

        walk(self.tree)
        return tuple(found)


def parse_where(text: str) -> Where:
    """Parse a filter expression; WhereError (with the column and what was expected) if bad."""
    if not text.strip():
        raise WhereError(1, "the filter is empty: write e.g. satisfaction >= 4")
    parser = _Parser(tokenize(text))
    tree = parser.expression()
    rest = parser.current
    if rest.kind != "end":
        raise WhereError(
            rest.col, f"expected 'and', 'or' or the end of the expression, found {_describe(rest)}"
        )
    return Where(text, tree)
