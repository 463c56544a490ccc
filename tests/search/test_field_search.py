"""Field scores that mean what they say, and field queries that say when they find nothing:
1.0 only for the same value; a path no stored record holds, or a --where value of another
type than the values stored, is a warning naming what does exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from jsonvec.cli import cli
from jsonvec.search.census import nearest_paths, take_census
from jsonvec.search.fields import ALMOST, field_score, query_fields, similarity

COUNTRIES = [
    {"name": {"common": "Germany", "official": "Federal Republic of Germany"},
     "capital": ["Berlin"], "ccn3": "276", "area": 357114, "eventId": 138586341},
    {"name": {"common": "France", "official": "French Republic"},
     "capital": ["Paris"], "ccn3": "250", "area": 551695, "eventId": 138586345},
    {"name": {"common": "Austria", "official": "Republic of Austria"},
     "capital": ["Vienna"], "ccn3": "040", "area": 83871, "eventId": 138586349},
    {"name": {"common": "Germania", "official": "Roman Germania"},
     "capital": ["Colonia"], "ccn3": "999", "area": 357115, "eventId": 138586353},
]  # fmt: skip


@pytest.fixture
def countries(tmp_path: Path) -> Path:
    records = tmp_path / "countries.jsonl"
    records.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in COUNTRIES))
    out = tmp_path / "countries.parquet"
    result = CliRunner().invoke(
        cli, ["encode", str(records), "-o", str(out), "--keep-records", "--id-field", "ccn3", "-q"]
    )
    assert result.exit_code == 0, result.output
    return out


def similar(*args: object) -> Result:
    return CliRunner().invoke(cli, ["similar", *map(str, args)])


def hits(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [orjson.loads(line) for line in result.stdout.splitlines()]


numbers = st.integers(-(2**62), 2**62) | st.floats(allow_nan=False, allow_infinity=False)


@given(numbers, numbers)
def test_numbers_score_one_only_when_they_are_the_same(a: float, b: float) -> None:
    score = similarity(a, b)
    assert (score == 1.0) == (a == b)
    assert round(score, 6) < 1.0 or a == b  # as the hits print it
    assert 0.0 <= score <= 1.0


@given(st.text(max_size=30), st.text(max_size=30))
def test_strings_score_one_only_when_they_are_the_same(a: str, b: str) -> None:
    assert (similarity(a, b) == 1.0) == (a == b)


def test_a_record_scores_one_only_when_it_holds_every_value() -> None:
    fields = query_fields({"a": 1, "b": "x" * 2_000_000})
    assert field_score(fields, {"a": 1, "b": "x" * 2_000_000}) == 1.0
    near = field_score(fields, {"a": 1, "b": "x" * 1_999_999 + "y"})  # in bounded time
    assert near == ALMOST
    assert round(near, 6) == 0.999999


def test_an_exact_id_ranks_above_the_near_ones(countries: Path) -> None:
    found = hits(similar(countries, "--by-field", '{"eventId": 138586349}', "-n", "4"))
    assert found[0] == {"id": "040", "score": 1.0, "rank": 1}
    assert [h["score"] for h in found[1:]] == [0.999999] * 3
    for value, holder in ((138586341, "276"), (138586353, "999")):
        best = hits(similar(countries, "--by-field", f'{{"eventId": {value}}}', "-n", "1"))
        assert best == [{"id": holder, "score": 1.0, "rank": 1}]


def test_a_path_no_record_holds_is_a_warning(countries: Path) -> None:
    result = similar(countries, "--by-field", '{"nmae": {"common": "Germany"}}', "-n", "2")
    assert [h["score"] for h in hits(result)] == [0.0, 0.0]
    assert result.stderr == (
        "jsonvec: warning: --by-field: no stored record holds a value at nmae.common; the "
        "nearest paths are: name.common, name, name.official\n"
    )


def test_a_where_path_no_record_holds_is_a_warning(countries: Path) -> None:
    result = similar(countries, "--id", "276", "--where", "capitl=Berlin")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        'jsonvec: warning: --where capitl="Berlin": no stored record holds a value at capitl; '
        "the nearest paths are: capital, capital[], area\n"
        "jsonvec: no hits: no record passes every --where condition\n"
    )


def test_a_where_value_of_another_type_says_so(countries: Path) -> None:
    result = similar(countries, '{"name": {"common": "Germany"}}', "--where", "ccn3=276")
    assert result.stdout == ""
    assert result.stderr == (
        "jsonvec: warning: --where ccn3=276: the values at ccn3 are strings, and 276 is a "
        "number (as text: ccn3='\"276\"')\n"
        "jsonvec: no hits: no record passes every --where condition\n"
    )
    found = hits(similar(countries, '{"name": {"common": "Germany"}}', "--where", 'ccn3="276"'))
    assert [h["id"] for h in found] == ["276"]


def test_probe_warns_of_a_path_no_record_holds(countries: Path, tmp_path: Path) -> None:
    candidates = tmp_path / "c.jsonl"
    candidates.write_text('"Berlin"\n"Paris"\n')
    result = CliRunner().invoke(
        cli, ["probe", str(countries), "--path", "captial[]", "--candidates", str(candidates)]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "jsonvec: warning: --path: no stored record holds a value at captial[]; the nearest "
        "paths are: capital[], capital, area\n"
    )


def test_a_search_with_no_hits_says_why(tmp_path: Path) -> None:
    one = tmp_path / "one.jsonl"
    one.write_text('{"a": 1}\n')
    out = tmp_path / "one.parquet"
    assert CliRunner().invoke(cli, ["encode", str(one), "-o", str(out)]).exit_code == 0
    result = similar(out, "--id", "0")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        "jsonvec: no hits: the vectors hold one record, the query's own (--id leaves it out of "
        "its hits)\n"
    )
    result = similar(out, '{"b": 2}', "--threshold", "0.9")
    assert result.stderr == "jsonvec: no hits: no record scores at least --threshold 0.9\n"


def test_nearest_paths() -> None:
    census = take_census(COUNTRIES)
    assert nearest_paths("name.comon", census, 2) == ["name.common", "name"]
    assert census["capital[]"] == {"string"}
    assert census["area"] == {"number"}
