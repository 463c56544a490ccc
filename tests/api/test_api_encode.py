"""The Python encoding API: records of Python values, iterables, streams and whole files."""

from __future__ import annotations

import collections
import types
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jsonvec
from jsonvec import (
    ArgumentError,
    Codebook,
    EncodeError,
    Encoder,
    UsageError,
    encode,
    encode_batch,
    iter_encode,
)
from jsonvec.encoding.encoder import COMPILED
from jsonvec.values import as_json
from tests.helpers import jsonvec as jsonvec_command
from tests.helpers import run

BOOK = Codebook(dim=128, seed=5)
ENGINES = [False, True] if COMPILED else [False]

numpy_scalars = (
    st.integers(-(2**63), 2**63 - 1).map(np.int64)
    | st.integers(0, 255).map(np.uint8)
    | st.floats(width=32, allow_nan=False, allow_infinity=False).map(np.float32)
    | st.floats(allow_nan=False, allow_infinity=False).map(np.float64)
    | st.booleans().map(np.bool_)
    | st.text(max_size=5).map(np.str_)
)
python_scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=5)
arrays = hnp.arrays(
    st.sampled_from([np.int32, np.float32, np.float64, np.bool_]),
    hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
    elements={"allow_nan": False, "allow_infinity": False},
)
values = st.recursive(
    numpy_scalars | python_scalars | arrays,
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=4), children, max_size=3)
        | st.dictionaries(st.text(max_size=4), children, max_size=3).map(types.MappingProxyType)
    ),
    max_leaves=8,
)


def plain(value: Any) -> Any:
    """What a JSON text of ``value`` reads back as (numbers written with every digit)."""
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict | types.MappingProxyType):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@pytest.mark.parametrize("compiled", ENGINES)
@given(record=st.dictionaries(st.text(max_size=4), values, min_size=1, max_size=4))
def test_python_values_encode_as_the_json_they_stand_for(compiled: bool, record: Any) -> None:
    encoder = Encoder(BOOK, compiled=compiled)
    reread = orjson.loads(orjson.dumps(plain(record)))
    assert np.array_equal(encoder.encode(record), encoder.encode(reread))
    assert as_json(record) == reread


@given(record=st.dictionaries(st.text(max_size=4), values, min_size=1, max_size=4))
def test_python_values_give_the_same_vectors_both_ways(record: Any) -> None:
    if not COMPILED:
        pytest.skip("the compiled core is not built")
    expected = Encoder(BOOK, compiled=False).encode_batch([record, {"x": 1}])
    assert np.array_equal(Encoder(BOOK, compiled=True).encode_batch([record, {"x": 1}]), expected)


def test_float32_is_widened_exactly() -> None:
    widened = encode({"x": np.float32(0.1)}, BOOK)
    assert np.array_equal(widened, encode({"x": 0.10000000149011612}, BOOK))
    assert not np.array_equal(widened, encode({"x": 0.1}, BOOK))


def test_plain_records_are_not_copied() -> None:
    record = {"a": [1, {"b": "c"}], "d": None}
    assert as_json(record) is record


@pytest.mark.parametrize("compiled", ENGINES)
@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({1: "a"}, "at the top level: key 1 is int, but keys must be strings (as in JSON)"),
        ({"a": {"b": {2.5: 1}}}, "under 'a.b': key 2.5 is float, but keys must be strings"),
        ({"a": [{"b", "c"}]}, "at 'a[]': cannot encode a value of type set (JSON has no such"),
        ({"a": b"x"}, "at 'a': cannot encode a value of type bytes"),
        ({"a": object()}, "at 'a': cannot encode a value of type object"),
        (
            {"a": (np.datetime64("2026-01-01"),)},
            "at 'a[]': cannot encode a numpy value of dtype datetime64[D]",
        ),
        ({"a": np.array([1 + 2j])}, "at 'a': cannot encode a numpy value of dtype complex128"),
        ({"a": collections.OrderedDict([((1, 2), 3)])}, "under 'a': key (1, 2) is tuple"),
    ],
)
def test_values_without_a_json_equivalent_are_refused(
    compiled: bool, record: Any, message: str
) -> None:
    with pytest.raises(EncodeError) as caught:
        Encoder(BOOK, compiled=compiled).encode_batch([{"fine": 1}, record])
    assert str(caught.value).startswith(message)


def test_encode_batch_takes_any_iterable() -> None:
    records = [{"n": i, "tag": ("a", "b")[i % 2]} for i in range(7)]
    expected = encode_batch(records, BOOK)
    assert expected.shape == (7, 128)
    assert np.array_equal(encode_batch(iter(records), BOOK), expected)
    assert np.array_equal(encode_batch((r for r in records), BOOK), expected)
    assert np.array_equal(encode_batch(tuple(records), BOOK), expected)
    assert encode_batch([], BOOK).shape == (0, 128)


def test_a_list_is_one_record_to_encode_and_many_to_encode_batch() -> None:
    records = [{"a": 1}, {"a": 2}]
    assert encode(records, BOOK).shape == (128,)
    assert encode_batch(records, BOOK).shape == (2, 128)


def test_iter_encode_streams_in_batches() -> None:
    records = [{"n": i} for i in range(10)]
    pulled: list[int] = []

    def stream() -> Any:
        for i, record in enumerate(records):
            pulled.append(i)
            yield record

    blocks = iter_encode(stream(), BOOK, batch_size=4)
    first = next(blocks)
    assert first.shape == (4, 128)
    assert len(pulled) == 4
    rest = list(blocks)
    assert [b.shape[0] for b in rest] == [4, 2]
    assert np.array_equal(np.vstack([first, *rest]), encode_batch(records, BOOK))
    assert list(iter_encode([], BOOK)) == []


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_iter_encode_refuses_a_bad_batch_size(size: Any) -> None:
    with pytest.raises(ArgumentError, match=r"batch_size must be (an integer|at least 1)"):
        next(iter_encode([{"a": 1}], batch_size=size))


# -- encode_file: the CLI's job as one call


@pytest.fixture
def lines(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    rows = [{"id": f"r{i}", "name": f"name {i}", "n": i} for i in range(2500)]
    text = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    path.write_bytes(text.replace(b'{"id":"r7",', b'{"id":"r7" oops', 1))
    return path


@pytest.mark.parametrize("jobs", [1, 2])
def test_encode_file_writes_what_the_cli_writes(lines: Path, tmp_path: Path, jobs: int) -> None:
    book = tmp_path / "book.jvc"
    jsonvec.save_codebook(BOOK, str(book))
    rejects = tmp_path / "bad.jsonl"
    summary = jsonvec.encode_file(
        lines, tmp_path / "api.parquet", codebook=book, id_field="id", skip_invalid=True,
        rejects=rejects, batch_size=300, jobs=jobs, keep_records=True,
    )  # fmt: skip
    assert (summary.records, summary.invalid) == (2499, 1)
    assert summary.output == str(tmp_path / "api.parquet")
    assert rejects.read_bytes().startswith(b'{"id":"r7" oops')
    done = run(
        jsonvec_command("encode", lines, "-o", tmp_path / "cli.parquet", "--codebook", book,
                        "--id-field", "id", "--skip-invalid", "--keep-records", "-q")
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    api, cli = pq.read_table(tmp_path / "api.parquet"), pq.read_table(tmp_path / "cli.parquet")
    assert api.equals(cli)
    assert api.schema.metadata == cli.schema.metadata


def test_encode_file_stops_at_a_bad_line_and_writes_nothing(lines: Path, tmp_path: Path) -> None:
    with pytest.raises(jsonvec.InvalidLineError, match=r"in\.jsonl:8: "):
        jsonvec.encode_file([lines], tmp_path / "out.npy", batch_size=100, jobs=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_encode_file_with_a_codebook_object_and_max_invalid(lines: Path, tmp_path: Path) -> None:
    with pytest.raises(jsonvec.TooManyInvalidError, match="more than 0 invalid lines"):
        jsonvec.encode_file(lines, tmp_path / "out.npy", codebook=BOOK, max_invalid=0)
    summary = jsonvec.encode_file(lines, tmp_path / "out.npy", codebook=BOOK, max_invalid=1)
    assert summary.records == 2499
    assert np.load(tmp_path / "out.npy").shape == (2499, 128)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rejects": "bad.jsonl"}, "--rejects needs --skip-invalid or --max-invalid"),
        ({"skip_existing": True}, "--skip-existing needs --append and --id-field"),
        ({"keep_records": True, "output": "out.npy"}, "--keep-records needs a .parquet output"),
        ({"output": "out.csv"}, "out.csv"),
        ({"output": "in.jsonl"}, "would overwrite input"),
    ],
)
def test_encode_file_refuses_what_the_cli_refuses(
    lines: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: Any, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    output = options.pop("output", "out.parquet")
    with pytest.raises(UsageError, match=message.replace(".", r"\.")):
        jsonvec.encode_file("in.jsonl", output, **options)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_encode_file_appends_to_a_folder(lines: Path, tmp_path: Path) -> None:
    folder = tmp_path / "vectors"
    first = jsonvec.encode_file(lines, f"{folder}/", append=True, skip_invalid=True)
    again = jsonvec.encode_file(lines, f"{folder}/", append=True, skip_invalid=True)
    assert (first.records, again.records) == (2499, 2499)
    assert len(list(folder.glob("*.parquet"))) == 2
