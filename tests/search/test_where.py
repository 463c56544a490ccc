"""`similar --where PATH=VALUE`: exact with stored records, decoded from vectors otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

from jsonvec import Codebook, encode_batch
from jsonvec.cli import cli
from jsonvec.search.where import Condition, WhereError, decoded_mask, exact_mask, same, values_at
from tests.helpers import write_vectors


def test_conditions_are_read_as_json_or_text() -> None:
    assert Condition.parse("age=31") == Condition(("age",), 31)
    assert Condition.parse("ok=true").value is True
    assert Condition.parse('name="31"').value == "31"
    assert Condition.parse("city=New York").value == "New York"
    assert Condition.parse("tags[]=red").path == ("tags", "[]")
    assert Condition.parse("a=b=c").value == "b=c"
    assert str(Condition.parse("items[0].sku=A-1")) == 'items[0].sku="A-1"'
    for bad in ("novalue", "=3"):
        with pytest.raises(WhereError, match="give PATH=VALUE"):
            Condition.parse(bad)


def test_json_equality() -> None:
    assert same(1, 1.0)
    assert same({"a": [1, "x"]}, {"a": [1.0, "x"]})
    assert not same(True, 1)
    assert not same(1, "1")
    assert not same(None, False)
    assert not same([1], [1, 2])
    assert not same({"a": 1}, {"b": 1})


def test_values_at_paths_with_elements() -> None:
    record = {"items": [{"sku": "A"}, {"sku": "B"}], "tags": ["x", "y"]}
    assert values_at(record, ("items", "[]", "sku")) == ["A", "B"]
    assert values_at(record, ("items", 1, "sku")) == ["B"]
    assert values_at(record, ("tags", 5)) == []


def people(samples: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in (samples / "people.jsonl").read_bytes().splitlines()]


def test_exact_and_decoded_masks_agree_on_narrow_records(samples: Path) -> None:
    records = people(samples)
    book = Codebook()
    vectors = encode_batch(records, book)
    for text in ("city=Paris", "age=34", 'address.zip="75001"', "name=Jonathan Smith"):
        condition = Condition.parse(text)
        exact = exact_mask([condition], records)
        assert exact.any()
        decoded = decoded_mask([condition], [(0, vectors[:5]), (5, vectors[5:])], book)
        if text.startswith("age"):  # numbers are soft: 35 is near 34
            assert (decoded | ~exact).all()
            assert decoded.sum() > exact.sum()
        else:
            assert decoded.tolist() == exact.tolist(), text


def run(*args: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(cli, ["similar", *args])
    lines = [orjson.loads(x) for x in result.stdout.splitlines()] if result.exit_code == 0 else []
    return result.exit_code, lines, result.stderr


def test_where_keeps_only_records_holding_the_value(tmp_path: Path, samples: Path) -> None:
    records = people(samples)
    stored = write_vectors(tmp_path / "p.parquet", samples / "people.jsonl")
    bare = write_vectors(tmp_path / "p.npy", samples / "people.jsonl")
    paris = {r["id"] for r in records if r["city"] == "Paris"}
    for vectors in (stored, bare):
        code, hits, stderr = run(str(vectors), '{"name": "Ann"}', "--where", "city=Paris")
        assert code == 0
        assert {h["id"] for h in hits} == paris
        assert ("read from the vectors" in stderr) == (vectors == bare)
    code, hits, _ = run(str(stored), "{}", "--where", "city=Paris", "--where", "age=35")
    assert [h["id"] for h in hits] == [
        r["id"] for r in records if r["city"] == "Paris" and r["age"] == 35
    ]
    code, hits, _ = run(str(stored), "--id", "p01", "--where", "city=Paris")
    assert "p01" not in {h["id"] for h in hits}
    assert {h["id"] for h in hits} <= paris
    code, hits, _ = run(str(stored), '{"city": "Pariss"}', "--by-field", "--where", "age=34")
    assert [h["id"] for h in hits] == [r["id"] for r in records if r["age"] == 34]
    code, hits, _ = run(str(stored), "{}", "--where", "city=Atlantis")
    assert (code, hits) == (0, [])


def test_where_refusals(tmp_path: Path, samples: Path) -> None:
    stored = write_vectors(tmp_path / "p.parquet", samples / "people.jsonl")
    for args, message in (
        (["--where", "city"], "Invalid value for --where: 'city': give PATH=VALUE"),
        (["--where", "a[=1"], "Invalid value for --where: invalid path 'a['"),
        (["--where", "x=1", "--index", "i.usearch"], "--where filters every record"),
    ):
        code, _, stderr = run(str(stored), "{}", *args)
        assert code == 2
        assert message in stderr


def test_decoded_where_reads_elements_of_arrays_of_objects(tmp_path: Path) -> None:
    source = tmp_path / "orders.jsonl"
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
             "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
             "sierra", "tango"]  # fmt: skip
    orders = [{"n": i, "items": [{"sku": "box"}, {"sku": words[i]}]} for i in range(20)]
    source.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in orders))
    bare = write_vectors(tmp_path / "o.npy", source, id_field="n")
    code, hits, stderr = run(str(bare), "{}", "--where", "items[].sku=hotel")
    assert code == 0
    assert [h["id"] for h in hits] == ["7"]
    assert "kept 1 of 20" in stderr
    assert np.__name__
