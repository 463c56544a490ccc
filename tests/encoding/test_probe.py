"""Reading vectors back: unbind, cleanup (jsonvec.encoding.probe) and `jsonvec probe`."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import orjson
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from jsonvec import Codebook, Settings, encode_batch
from jsonvec.cli import cli
from jsonvec.encoding.probe import (
    ProbeError,
    cleanup,
    cleanup_best,
    estimate_numbers,
    role_of,
    unbind,
    unbind_each,
)
from tests.helpers import write_vectors

SMALL = Codebook(dim=64, seed=3)


@pytest.mark.parametrize("path", ["a", "user.address.city", "a\\.b.c"])
def test_a_single_field_unbinds_to_its_leaf_exactly(path: str) -> None:
    from jsonvec.records.paths import parse_path  # noqa: PLC0415

    record: object = "Paris"
    for key in reversed(parse_path(path)):
        record = {key: record}
    vector = encode_batch([record])[0]
    assert np.array_equal(unbind(vector, path), encode_batch(["Paris"])[0])


@settings(max_examples=30)
@given(
    st.lists(st.sampled_from(["a", "b", "items", "0", "[1]", "[]", "tags"]), max_size=4),
    st.integers(0, 2**32),
)
def test_a_role_is_a_signed_permutation(steps: list[str], seed: int) -> None:
    path = ".".join(s for s in ["x", *steps] if not s.startswith("[")) + "".join(
        s for s in steps if s == "[1]"
    )
    target, sign = role_of(path, SMALL)
    assert sorted(target.tolist()) == list(range(64))
    assert set(sign.tolist()) <= {-1.0, 1.0}
    x = np.random.default_rng(seed).standard_normal(64).astype(np.float32)
    y = np.zeros(64, dtype=np.float32)
    y[target] = sign.astype(np.float32) * x
    assert np.array_equal(unbind(y, path, SMALL), x)


def test_elements_by_position_and_order_free() -> None:
    vector = encode_batch([{"tags": ["red", "green", "blue"]}])
    words = ["red", "green", "blue", "ox"]  # an absent word sharing no letter with them
    for position, word in enumerate(words[:3]):
        scores = cleanup(unbind(vector, f"tags[{position}]"), words)[0]
        assert int(np.argmax(scores)) == words.index(word)
    anywhere = cleanup(unbind(vector, "tags[]"), words)[0]
    assert abs(anywhere[3]) < 0.05
    assert min(anywhere[:3]) > 0.15


def test_paths_that_cannot_be_read_back() -> None:
    with pytest.raises(ProbeError, match=r"^items\[\]\.sku: elements of an ordered array that "):
        role_of("items[].sku")  # one role per position: see unbind_each
    book = Codebook(settings=Settings(set_arrays=("tags",)))
    with pytest.raises(ProbeError, match=r"the codebook treats as a set"):
        role_of("tags[1]", book)
    role_of("tags[]", book)  # a set's elements: any element
    flat = Codebook(settings=Settings(array_set_weight=0.0))
    with pytest.raises(ProbeError, match=r"keeps no order-free copy"):
        role_of("tags[]", flat)


def test_probe_reads_ten_fields_of_random_words() -> None:
    """dim 1024, 10 fields, each from its own 500 distinct words: top-1 ≥ 0.99."""
    rng = random.Random(7)
    vocab = {
        f"f{j}": sorted({"".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou")
                                 for _ in range(4)) for _ in range(600)})[:500]
        for j in range(10)
    }  # fmt: skip
    records = [{field: rng.choice(words) for field, words in vocab.items()} for _ in range(300)]
    vectors = encode_batch(records)
    right = 0
    for field, words in vocab.items():
        scores = cleanup(unbind(vectors, field), words)
        best = np.argmax(scores, axis=1)
        right += sum(words[b] == r[field] for b, r in zip(best, records, strict=True))
    assert right / (10 * len(records)) >= 0.99


@pytest.fixture
def people(tmp_path: Path, samples: Path) -> Path:
    return write_vectors(tmp_path / "people.parquet", samples / "people.jsonl")


def lines(output: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in output.splitlines()]


def test_probe_command(people: Path, samples: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    data = samples / "people.jsonl"
    truth = {r["id"]: r["city"] for r in map(orjson.loads, data.read_bytes().splitlines())}
    result = runner.invoke(cli, ["probe", str(people), "--path", "city", "--from", str(data)])
    assert result.exit_code == 0, result.output
    found = lines(result.stdout)
    assert len(found) == 3 * len(truth)
    assert set(found[0]) == {"id", "path", "value", "score", "rank"}
    firsts = {f["id"]: f["value"] for f in found if f["rank"] == 1}
    assert firsts == truth
    candidates = tmp_path / "c.jsonl"
    candidates.write_text('"Madrid"\n"Paris"\n\n42\n')
    args = ["probe", str(people), "--path", "city", "--candidates", str(candidates)]
    one = runner.invoke(cli, [*args, "--id", "p03", "-n", "5"])
    got = lines(one.stdout)
    assert [(f["id"], f["rank"]) for f in got] == [("p03", 1), ("p03", 2), ("p03", 3)]
    assert got[0]["value"] == "Madrid"
    assert {f["value"] for f in got[1:]} == {"Paris", 42}
    plain = runner.invoke(cli, [*args, "--id", "p03", "-n", "1", "--plain"])
    assert plain.stdout.splitlines()[0].split() == ["id", "rank", "score", "value"]
    assert plain.stdout.splitlines()[1].split()[::3] == ["p03", '"Madrid"']


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--path", "city", "--from", "DATA", "--candidates", "x"], "give one of --from"),
        (["--path", "a["], "Invalid value for --path: invalid path 'a['"),
        (["--path", "nowhere", "--from", "DATA"], "no candidates: "),
    ],
)
def test_probe_usage_errors(people: Path, samples: Path, args: list[str], message: str) -> None:
    args = [str(samples / "people.jsonl") if a == "DATA" else a for a in args]
    result = CliRunner().invoke(cli, ["probe", str(people), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_probe_refuses_unreadable_paths_and_unknown_ids(people: Path, samples: Path) -> None:
    data = str(samples / "people.jsonl")
    result = CliRunner().invoke(
        cli, ["probe", str(people), "--path", "a[].b[].c[].d", "--from", data]
    )
    assert result.exit_code == 2
    assert "Invalid value for --path: a[].b[].c[].d: too many element positions" in result.stderr
    missing = CliRunner().invoke(
        cli, ["probe", str(people), "--path", "city", "--from", data, "--id", "nobody"]
    )
    assert missing.exit_code == 1
    assert missing.stderr.startswith("Error: ")


@pytest.mark.parametrize("number", [42, -7, 0, 1234.5, 0.00123, 3e15])
def test_a_lone_number_is_estimated_within_its_range(number: float) -> None:
    (guess,) = estimate_numbers(unbind(encode_batch([{"x": number}]), "x"))
    assert guess.low <= number <= guess.high
    assert abs(guess.value - number) <= 0.01 * abs(number)
    if isinstance(number, int):
        assert guess.value == number
        assert isinstance(guess.value, int)
    assert guess.score > 0.9


def test_numbers_in_narrow_records_fall_in_their_ranges(samples: Path) -> None:
    records = [orjson.loads(x) for x in (samples / "people.jsonl").read_bytes().splitlines()]
    guesses = estimate_numbers(unbind(encode_batch(records), "age"))
    inside = [g.low <= r["age"] <= g.high for g, r in zip(guesses, records, strict=True)]
    assert sum(inside) >= len(records) - 1


def test_elements_of_an_array_of_objects_by_their_best_position() -> None:
    records = [{"items": [{"sku": "A-1"}, {"sku": "B-2"}, {"sku": "C-3"}], "name": "order"}]
    vectors = encode_batch(records)
    words = ["A-1", "B-2", "C-3", "D4", "order"]  # D4: nothing in common with the SKUs
    best = cleanup_best(vectors, "items[].sku", words)[0]
    assert min(best[:3]) > 0.3
    assert max(best[3:]) < 0.1
    summed = unbind(vectors, "items[].sku")
    parts = unbind_each(vectors, "items[].sku")
    assert len(parts) == 16
    assert np.allclose(summed, np.sum(parts, axis=0))
    assert np.array_equal(parts[1], unbind(vectors, "items[1].sku"))


def test_probe_without_candidates_reads_numbers(people: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["probe", str(people), "--path", "age", "--id", "p01"])
    assert result.exit_code == 0, result.output
    (found,) = lines(result.stdout)
    assert set(found) == {"id", "path", "value", "score", "rank", "low", "high"}
    assert found["id"] == "p01"
    assert found["low"] <= 34 <= found["high"]
    text = runner.invoke(cli, ["probe", str(people), "--path", "name"])
    assert text.exit_code == 2
    assert "name does not read back as a number in any record" in text.stderr
    assert "give candidates with --from DATA or --candidates FILE" in text.stderr
