from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jsonvec.records.paths import (
    EVERY,
    MissingPathError,
    PathError,
    format_path,
    get_path,
    parse_path,
)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("user.id", ("user", "id")),
        ("items[0].sku", ("items", 0, "sku")),
        ("items[].tags", ("items", EVERY, "tags")),
        ("a[0][1]", ("a", 0, 1)),
        ("[2]", (2,)),
        ("a\\.b", ("a.b",)),
        ("a\\[x\\]", ("a[x]",)),
    ],
)
def test_parse_path(text: str, segments: tuple[object, ...]) -> None:
    assert parse_path(text) == segments
    assert format_path(segments) == text  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("a..b", "empty key"),
        (".a", "empty key"),
        ("a.", "empty key"),
        ("a.[0]", "empty key"),
        ("a[x]", "use KEY"),
        ("a[0]b", "use KEY"),
        ("a]", "use KEY"),
        ("a\\", "use KEY"),
    ],
)
def test_parse_path_rejects(text: str, problem: str) -> None:
    with pytest.raises(PathError, match=re.escape(problem)):
        parse_path(text)


@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4))
def test_any_keys_round_trip(keys: list[str]) -> None:
    assert parse_path(format_path(tuple(keys))) == tuple(keys)


def test_get_path() -> None:
    record = {"user": {"id": 7, "tags": ["a", "b"]}}
    assert get_path(record, ("user", "id")) == 7
    assert get_path(record, ("user", "tags", 1)) == "b"
    for missing in [("user", "name"), ("user", "tags", 5), ("user", "id", "x")]:
        with pytest.raises(MissingPathError, match="is missing"):
            get_path(record, missing)
