"""Field-level matching (jsonvec.search.fields) and `jsonvec similar --by-field`."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from jsonvec import Encoder
from jsonvec.cli import cli
from jsonvec.encoding.encoder import COMPILED
from jsonvec.search.exact import noise_ceiling
from jsonvec.search.field_search import best_by_fields, cosines
from jsonvec.search.fields import (
    ANY,
    FieldScorer,
    _osa_python,
    field_score,
    osa_distance,
    query_fields,
    rank_by_fields,
    ranked,
    similarity,
    values_at,
)
from jsonvec.storage.collection import Collection
from tests.helpers import write_vectors

TEXT = st.text(alphabet="abcé😀 ", max_size=12)


def test_query_fields_and_values_at() -> None:
    query = {"a": {"b": 1}, "c": ["x", {"d": None}], "e": {}}
    fields = query_fields(query)
    assert fields == [(("a", "b"), 1), (("c", ANY), "x"), (("c", ANY, "d"), None), (("e",), {})]
    record = {"a": {"b": 2}, "c": ["y", "x", {"d": None}, {"d": 3}], "e": {}}
    assert values_at(record, ("c", ANY)) == ["y", "x", {"d": None}, {"d": 3}]
    assert values_at(record, ("c", ANY, "d")) == [None, 3]
    assert values_at(record, ("a", "z")) == []
    assert values_at("bare", ()) == ["bare"]
    assert query_fields("bare") == [((), "bare")]


@given(TEXT, TEXT)
def test_osa_distance_is_an_edit_count(a: str, b: str) -> None:
    d = osa_distance(a, b)
    assert d == _osa_python(a, b) == osa_distance(b, a)
    assert (d == 0) == (a == b)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))


@given(st.text(min_size=2, max_size=20), st.data())
def test_one_typo_is_one_edit(text: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(text) - 2))
    dropped = text[:i] + text[i + 1 :]
    doubled = text[: i + 1] + text[i:]
    swapped = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    assert osa_distance(text, dropped) == 1
    assert osa_distance(text, doubled) == 1
    assert osa_distance(text, swapped) == (0 if swapped == text else 1)


@pytest.mark.skipif(not COMPILED, reason="the compiled core is not built")
def test_the_core_measures_what_the_reference_does() -> None:
    from jsonvec.search._distance import osa_distance as compiled  # noqa: PLC0415

    rng = random.Random(4)
    for _ in range(3000):
        a = "".join(rng.choice("ab\u00e9\U0001f600") for _ in range(rng.randint(0, 9)))
        b = "".join(rng.choice("ab\u00e9\U0001f600") for _ in range(rng.randint(0, 9)))
        assert compiled(a, b) == _osa_python(a, b)


def test_similarity() -> None:
    assert similarity("Germany", "Germany") == 1.0
    assert similarity("Germany", "Germny") == pytest.approx(1 - 1 / 7)
    assert similarity("Berlin", "Berlni") == pytest.approx(1 - 1 / 6)
    assert similarity("abc", 3) == similarity(3, "3") == 0.0
    assert similarity(10, 10.0) == 1.0
    assert similarity(10, 12) == pytest.approx(1 - 2 / 22)
    assert similarity(-5, 5) == 0.0
    assert similarity(10**400, 1.5) == 0.0
    assert similarity(True, True) == similarity(None, None) == similarity({}, {}) == 1.0
    assert similarity(True, 1) == similarity(False, None) == similarity([], {}) == 0.0


def test_field_score_is_the_mean_of_the_best_matches() -> None:
    fields = query_fields({"name": "Ann", "tags": ["red", "blue"]})
    assert field_score(fields, {"name": "Ann", "tags": ["blue", "green", "red"]}) == 1.0
    assert field_score(fields, {"name": "Anne", "tags": ["red"]}) == pytest.approx(
        (0.75 + 1.0 + 0.0) / 3  # "Anne": 1 edit of 4; "blue" against "red": 4 of 4
    )
    assert field_score(fields, {"other": 1}) == 0.0
    assert field_score([], {"a": 1}) == 0.0


def test_ties_go_to_the_nearer_vector_then_to_the_lower_row() -> None:
    records = [{"a": "x", "b": 1}, {"a": "x", "b": 2}, {"a": "y"}, {"a": "x", "b": 2}]
    cosines = np.array([[0.1, 0.3, 0.9, 0.3]], dtype=np.float32)
    rows, scores = rank_by_fields([{"a": "x"}], records, cosines, 3)
    assert rows.tolist() == [[1, 3, 0]]
    assert scores.tolist() == [[1.0, 1.0, 1.0]]
    with pytest.raises(ValueError, match="3 records but 4 vectors"):
        rank_by_fields([{"a": "x"}], records[:3], cosines, 1)


def wide_records(count: int, seed: int = 3) -> list[dict[str, Any]]:
    """Records of 4 people with 20 fields each (80 leaves), every value unique."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(4))

    return [{key: {f"f{j}": word() for j in range(20)} for key in "abcd"} for _ in range(count)]


@pytest.fixture
def wide(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    records = wide_records(300)
    source = tmp_path / "wide.jsonl"
    source.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return write_vectors(tmp_path / "wide.parquet", source, id_field=None), records


def test_a_mistyped_field_of_a_wide_record_finds_its_holder(
    wide: tuple[Path, list[dict[str, Any]]],
) -> None:
    vectors, records = wide
    runner = CliRunner()
    rng = random.Random(5)
    found = {"vector": 0, "field": 0}
    rows = rng.sample(range(len(records)), 20)
    for row in rows:
        key, field = rng.choice("abcd"), f"f{rng.randrange(20)}"
        value = records[row][key][field]
        i = rng.randrange(len(value) - 1)
        mistyped = value[:i] + value[i + 1] + value[i] + value[i + 2 :]  # two letters swapped
        query = orjson.dumps({key: {field: mistyped}}).decode()
        for way, extra in (("vector", []), ("field", ["--by-field"])):
            result = runner.invoke(cli, ["similar", str(vectors), query, "-n", "2", *extra])
            assert result.exit_code == 0, result.output
            first = orjson.loads(result.stdout.splitlines()[0])
            found[way] += first["id"] == row
            if way == "field":
                assert first["score"] == 0.875  # one edit (a swap) of 8 letters
    assert found["field"] == len(rows)
    assert found["vector"] < len(rows)  # what --by-field is for: 80 leaves at dim 1024


def test_by_field_plain_and_records(wide: tuple[Path, list[dict[str, Any]]]) -> None:
    vectors, records = wide
    query = orjson.dumps({"b": {"f3": records[7]["b"]["f3"]}}).decode()
    args = ["similar", str(vectors), query, "--by-field", "-n", "1"]
    result = CliRunner().invoke(cli, [*args, "--records"])
    assert result.exit_code == 0, result.output
    hit = orjson.loads(result.stdout)
    assert (hit["id"], hit["score"], hit["rank"], hit["record"]) == (7, 1.0, 1, records[7])
    plain = CliRunner().invoke(cli, [*args, "--plain"])
    assert plain.stdout.splitlines()[1].split() == ["1", "1.0000", "7"]


def test_by_field_answers_every_query_of_a_file(
    wide: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    vectors, records = wide
    queries = tmp_path / "q.jsonl"
    queries.write_bytes(
        b"".join(orjson.dumps({"c": {"f0": records[r]["c"]["f0"]}}) + b"\n" for r in (4, 9))
    )
    args = ["similar", str(vectors), "-i", str(queries), "--by-field", "-n", "1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    hits = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [(h["query"], h["id"]) for h in hits] == [(1, 4), (2, 9)]


def test_by_field_refusals(tmp_path: Path, samples: Path) -> None:
    runner = CliRunner()
    npy = write_vectors(tmp_path / "p.npy", samples / "people.jsonl")
    parquet = write_vectors(tmp_path / "p.parquet", samples / "people.jsonl")
    cases = [
        ([str(npy), '{"name": "Ann"}'], "--by-field needs vectors written with encode "
         "--keep-records"),
        ([str(parquet), "--id", "1"], "--by-field scores a query's fields: give a query, "
         "not --id"),
        ([str(parquet), '{"a": 1}', "--index", "x.usearch"], "--by-field scores every stored "
         "record: it takes no --index"),
    ]  # fmt: skip
    for args, message in cases:
        result = runner.invoke(cli, ["similar", *args, "--by-field"])
        assert result.exit_code == 2
        assert message in result.stderr
        assert result.stdout == ""


def test_records_are_streamed_in_row_order(tmp_path: Path) -> None:
    records = wide_records(40)
    source = tmp_path / "w.jsonl"
    source.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    from jsonvec.records.reader import read_lines  # noqa: PLC0415
    from jsonvec.run.encode_file import encode_to  # noqa: PLC0415
    from jsonvec.run.options import EncodeOptions  # noqa: PLC0415
    from jsonvec.storage.collection import Collection  # noqa: PLC0415

    out = tmp_path / "w.parquet"
    options = EncodeOptions(keep_records=True, batch_size=7)  # several row groups
    encode_to(str(out), read_lines([str(source)]), Encoder(), options, stdout=None)  # type: ignore[arg-type]
    assert list(Collection.open([str(out)]).all_records()) == records


def test_a_hit_within_noise_is_warned_about_once(
    wide: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    vectors, records = wide
    value = records[3]["a"]["f1"]
    mistyped = value[0] + value[2] + value[1] + value[3:]
    runner = CliRunner()
    result = runner.invoke(cli, ["similar", str(vectors), f'{{"a": {{"f1": "{mistyped}"}}}}'])
    assert result.exit_code == 0
    best = orjson.loads(result.stdout.splitlines()[0])["score"]
    ceiling = noise_ceiling(300, 1024)
    assert best < ceiling
    assert result.stderr == (
        f"jsonvec: warning: the best hit scores {best:.3f}, under {ceiling:.3f}, what "
        "unrelated records can reach among 300 of dim 1024: a hit may not hold the query's "
        "values (on records of many fields one field carries little of a vector); --by-field "
        "scores the stored records field by field\n"
    )
    queries = tmp_path / "q.jsonl"
    whole = orjson.dumps(records[5])
    queries.write_bytes(b'{"a": {"f1": "%s"}}\n' % mistyped.encode() + whole + b"\n")
    result = runner.invoke(cli, ["similar", str(vectors), "-i", str(queries)])
    warning = "jsonvec: warning: the best hits of 1 of 2 queries score under "
    assert result.stderr.startswith(warning)
    assert len(result.stderr.splitlines()) == 1
    by_field = runner.invoke(cli, ["similar", str(vectors), "-i", str(queries), "--by-field"])
    assert by_field.stderr == ""


JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from([1.0, 2.5, -1.0]),
    st.sampled_from(["Paris", "Pariss", "Lyon", "", "paris", "é" * 1003, "e" * 1001]),
)  # fmt: skip
RECORD = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(RECORD, max_size=3), st.lists(RECORD, max_size=12))
def test_the_streaming_scorer_gives_field_score_exactly(
    queries: list[Any], records: list[Any]
) -> None:
    """FieldScorer remembers similarities and walks key paths inline: the same floats as
    field_score, and the same unheld paths."""
    scorer = FieldScorer(queries)
    for record in records:
        expected = [field_score(query_fields(q), record) for q in queries]
        assert scorer.score(record) == expected
    fields = [query_fields(q) for q in queries]
    held = [[False] * len(f) for f in fields]
    for record in records:
        for f, h in zip(fields, held, strict=True):
            field_score(f, record, h)
    want = list(dict.fromkeys(
        p for f, h in zip(fields, held, strict=True) for (p, _), was in zip(f, h, strict=True)
        if not was
    ))  # fmt: skip
    assert scorer.unheld() == want
    block = FieldScorer(queries)  # compiled where the core is built
    got = block.score_block(records)
    assert got.shape == (len(records), len(queries))
    assert got.tolist() == [[field_score(query_fields(q), r) for q in queries] for r in records]
    assert block.unheld() == want


@pytest.mark.parametrize("k", [1, 3, 50, 400])
def test_cosines_of_contenders_only_rank_as_all_cosines_do(tmp_path: Path, k: int) -> None:
    """best_by_fields keeps the cosines of the rows that can make a query's best k only:
    the same rows and scores as ranking with every cosine, ties and filters included."""
    source = tmp_path / "r.jsonl"
    source.write_text("".join(f'{{"id": "r{i}", "c": {i % 7}, "t": "x{i % 5}"}}\n'
                              for i in range(300)))  # fmt: skip
    collection = Collection.open([str(write_vectors(tmp_path / "r.npy", source))])
    rng = np.random.default_rng(k)
    scores = rng.choice([0.0, 0.5, 0.75, 1.0], size=(3, 300))  # many ties
    queries = Encoder().encode_batch([{"c": 1}, {"t": "x2"}, {"c": 3, "t": "x1"}])
    for allowed in (None, rng.random(300) < 0.3, np.zeros(300, dtype=bool)):
        want = ranked(scores, cosines(collection, queries), k, allowed)
        got = best_by_fields(collection, scores, queries, k, allowed)
        assert np.array_equal(got[0], want[0])
        assert np.array_equal(got[1], want[1])
