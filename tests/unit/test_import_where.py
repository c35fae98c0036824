"""The --where language: what parses, how and/or bind, where errors point, and that nothing but
its own errors ever comes out of it."""

from __future__ import annotations

import contextlib
import random

import pytest

from ftui.core.importing.where import WhereError, WhereValueError, parse_where

ROW = {"satisfaction": "4", "status": "resolved", "channel": "email", "first reply": "", "n": 7}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("satisfaction >= 4", True),
        ("satisfaction > 4", False),
        ("satisfaction == 4.0", True),  # numbers compare as numbers
        ("satisfaction != 4", False),
        ('status == "resolved"', True),
        ("status == 'open'", False),
        ('satisfaction >= 4 and status == "resolved"', True),
        ('satisfaction > 4 or status == "resolved"', True),
        # and binds tighter than or: false or (true and true)
        ('status == "open" or channel == "email" and n < 10', True),
        # ...and parentheses change it: (false or true) and false
        ('(status == "open" or channel == "email") and n > 10', False),
        ('not status == "open"', True),
        ('not (status == "resolved" and n == 7)', False),
        ('`first reply` == ""', True),
        ('"first reply" != ""', False),
        ("n <= -1", False),
        ("n >= 1e0", True),
        ('status == "a \\"quoted\\" word"', False),
        ("first_missing_is_empty > 3", False),  # a missing cell meets no numeric comparison
    ],
)
def test_valid_expressions(text: str, expected: bool) -> None:
    where = parse_where(text)
    assert where.matches(ROW) is expected


@pytest.mark.parametrize(
    ("text", "col", "says"),
    [
        ("satisfaction >> 4", 14, "expected a value after '>'"),
        ("satisfaction = 4", 14, "write '=='"),
        ("status == resolved", 8, 'put text in quotes (== "resolved")'),
        ("satisfaction >= 4 and", 22, "expected a column name, found the end"),
        ("(a == 1 or b == 2", 18, "expected ')' to close the '(' at col 1"),
        ("a == 1 b == 2", 8, "expected 'and', 'or' or the end"),
        ('status == "resolved', 11, "never closed"),
        ("a ! 3", 3, "'!='"),
        ("== 3", 1, "expected a column name"),
        ("a 3", 3, "expected a comparison (==, !=, <, <=, >, >=) after a"),
        ("   ", 1, "empty"),
        ("a == 1 and $", 12, "unexpected character '$'"),
    ],
)
def test_errors_say_where_and_what_was_expected(text: str, col: int, says: str) -> None:
    with pytest.raises(WhereError) as caught:
        parse_where(text)
    assert caught.value.col == col
    assert str(caught.value).startswith(f"col {col}: ")
    assert says in str(caught.value)


def test_columns_are_listed_once_in_order() -> None:
    where = parse_where('b > 1 and (a == "x" or b < 9) and `c d` != ""')
    assert where.columns == ("b", "a", "c d")


def test_text_under_a_number_is_a_row_problem() -> None:
    where = parse_where("satisfaction >= 4")
    assert where.matches({"satisfaction": " 5 "})
    assert not where.matches({"satisfaction": ""})  # empty: missing
    with pytest.raises(WhereValueError, match="'n/a', not a number"):
        where.matches({"satisfaction": "n/a"})
    with pytest.raises(WhereValueError):
        where.matches({"satisfaction": True})
    # Under a string comparison the same cell is just text.
    assert parse_where('satisfaction == "n/a"').matches({"satisfaction": "n/a"})


def _valid(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth < 3 and roll < 0.3:
        return f"{_valid(rng, depth + 1)} {rng.choice(['and', 'or'])} {_valid(rng, depth + 1)}"
    if depth < 3 and roll < 0.4:
        return f"not ({_valid(rng, depth + 1)})"
    column = rng.choice(["a", "b", "`x y`", '"x y"'])
    value = rng.choice(["1", "-2.5", "1e3", '"s"', "'t'", '""'])
    return f"{column} {rng.choice(['==', '!=', '<', '<=', '>', '>='])} {value}"


def test_fuzz_never_raises_anything_but_its_own_error() -> None:
    rng = random.Random(1234)
    noise = [*"ab()`'\"=!<>$é._+- 19", " and ", " or ", " not "]
    parsed = failed = 0
    for _ in range(4000):
        text = list(_valid(rng))
        for _ in range(rng.randint(0, 3)):  # mutate a valid expression a little
            at = rng.randrange(len(text) + 1)
            action = rng.random()
            if action < 0.4 and text:
                del text[min(at, len(text) - 1)]
            elif action < 0.8:
                text.insert(at, rng.choice(noise))
            elif text:
                text[min(at, len(text) - 1)] = rng.choice(noise)
        source = "".join(text)
        try:
            where = parse_where(source)
        except WhereError as exc:
            failed += 1
            assert str(exc).startswith(f"col {exc.col}: ")
            assert 1 <= exc.col <= len(source) + 1
            continue
        parsed += 1
        with contextlib.suppress(WhereValueError):
            where.matches({"a": "1", "b": "x", "x y": ""})
    assert parsed > 500 and failed > 500  # both sides are reached


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(WhereError, match="nested more than"):
        parse_where("(" * 5000 + "a == 1" + ")" * 5000)
    with pytest.raises(WhereError, match="nested more than"):
        parse_where("not " * 5000 + "a == 1")


def test_a_quoted_number_under_an_ordering_is_refused() -> None:
    # As text "n/a" > "3" and "10" < "9": refused with the fix, not quietly compared.
    with pytest.raises(WhereError) as caught:
        parse_where('satisfaction > "3"')
    assert "drop the quotes" in str(caught.value) and "(satisfaction > 3)" in str(caught.value)
    with pytest.raises(WhereError, match=r"\(`first reply` <= 2.5\)"):
        parse_where('`first reply` <= " 2.5"')
    # Equality with quoted digits and ordering of other text stay text comparisons.
    assert parse_where('code == "3"').matches({"code": "3"})
    assert parse_where('day >= "2024-01-01"').matches({"day": "2024-02-01"})
