"""JSON files that are not JSON Lines: a .json document is read as its array's elements, or
its top-level values (one pretty-printed object: one record), cut in bounded memory, and
each record encodes exactly as the same record on a JSON Lines line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from click.testing import CliRunner
from hypothesis import assume, given
from hypothesis import strategies as st

from jsonvec.cli import cli
from jsonvec.errors import InputError
from jsonvec.records import documents
from jsonvec.records.documents import DocumentSplitter, advance_python
from tests.helpers import jsonvec, run
from tests.run.test_memory import MEASURE

MANY = ["--batch-size", "5", "--jobs", "2"]

leaves = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def split(data: bytes, cuts: list[int]) -> list[tuple[int, bytes]]:
    """The records of ``data`` fed in pieces cut at ``cuts``."""
    splitter = DocumentSplitter("doc.json")
    found: list[tuple[int, bytes]] = []
    start = 0
    for cut in sorted(set(cuts)):
        found += splitter.feed(data[start:cut])
        start = cut
    return found + splitter.feed(data[start:]) + splitter.finish()


@given(st.lists(values, max_size=8), st.booleans(), st.lists(st.integers(0, 400), max_size=6))
def test_an_array_gives_its_elements_wherever_it_is_cut(
    records: list[Any], pretty: bool, cuts: list[int]
) -> None:
    text = json.dumps(records, indent=2 if pretty else None, ensure_ascii=False).encode()
    found = split(b"\xef\xbb\xbf" + text, cuts)
    assert [orjson.loads(raw) for _, raw in found] == records
    for line, raw in found:  # each record starts on the line given
        starts = [
            i for i, row in enumerate(text.splitlines(), 1) if row.strip().startswith(raw[:1])
        ]
        assert line in starts or not pretty


@given(st.lists(values, min_size=1, max_size=6), st.lists(st.integers(0, 200), max_size=4))
def test_values_one_after_another_are_one_record_each(records: list[Any], cuts: list[int]) -> None:
    """JSON Lines in a file named .json (a first value that is an array is the document's
    array, and its elements the records: the test above)."""
    assume(not isinstance(records[0], list))
    text = b"\n".join(orjson.dumps(r) for r in records) + b"\n"  # JSON Lines named .json
    found = split(text, cuts)
    assert [orjson.loads(raw) for _, raw in found] == records
    assert [line for line, _ in found] == list(range(1, len(records) + 1))


def test_the_compiled_scan_is_there() -> None:
    """CI builds the core: the fast scan is the one in use (the reference is tested below)."""
    assert documents.advance is not advance_python


def outcome(data: bytes, cuts: list[int]) -> object:
    """The records of ``data`` cut at ``cuts``, or the error."""
    try:
        return split(data, cuts)
    except InputError as exc:
        return str(exc)


@given(
    st.binary(max_size=80) | st.text(alphabet='{}[]"\\ ,a1\n\t', max_size=80).map(str.encode),
    st.lists(st.integers(0, 80), max_size=5),
)
def test_the_compiled_scan_is_the_reference(data: bytes, cuts: list[int]) -> None:
    """Any bytes, cut anywhere: the same records (and lines), or the same error."""
    compiled = outcome(data, cuts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(documents, "advance", advance_python)
        assert outcome(data, cuts) == compiled


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"[1, 2,]", "1: not a JSON document: a comma before ] (an element is missing) (column 7)"),
        (b'[\n  {"a": 1}\n  {"a": 2}\n]', "3: not a JSON document: expected , or ] after an "
         "element (column 3)"),
        (b'[\n  {"a": 1},\n  {"a": 2', "3: not a JSON document: the document ends inside a "
         "record that starts here (column 3)"),
        (b"[1, 2", "1: not a JSON document: the document ends before its array is closed by ] "
         "(column 6)"),
        (b"[1]\n[2]\n", "2: not a JSON document: more follows the top-level array (JSON Lines? "
         "read it with --input-format jsonl) (column 1)"),
        (b'{"a": 1}}', "1: not a JSON document: unexpected } between top-level values (column 9)"),
    ],
)  # fmt: skip
def test_a_broken_document_names_its_line(text: bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        split(text, [3])
    assert str(caught.value) == f"doc.json:{message}"


RECORDS = [{"id": f"c{i:02d}", "name": f"country {i}", "area": i * 1000 + 7} for i in range(44)]


@pytest.fixture
def lines(tmp_path: Path) -> Path:
    path = tmp_path / "countries.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in RECORDS))
    return path


def encode(*args: object) -> Any:
    result = CliRunner().invoke(cli, ["encode", *map(str, args)])
    return result


@pytest.mark.parametrize("repeat", range(2))
@pytest.mark.parametrize("layout", ["pretty", "compact", "gzip"])
def test_a_json_array_encodes_as_its_lines_do(
    lines: Path, tmp_path: Path, layout: str, repeat: int
) -> None:
    """The reported file: one pretty-printed array of 44 records (and the same compacted to
    one line): 44 vectors, bit-identical to those of the JSON Lines file, ids included."""
    import gzip  # noqa: PLC0415

    text = orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2 if layout == "pretty" else 0)
    document = tmp_path / ("countries.json.gz" if layout == "gzip" else "countries.json")
    document.write_bytes(gzip.compress(text) if layout == "gzip" else text)
    expected, got = tmp_path / "lines.npy", tmp_path / "doc.npy"
    assert encode(lines, "-o", expected, "--id-field", "id", "-q").exit_code == 0
    result = encode(document, "-o", got, "--id-field", "id", *MANY)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("jsonvec: encoded 44 records")
    assert np.array_equal(np.load(got), np.load(expected))
    assert Path(f"{got}.ids").read_bytes() == Path(f"{expected}.ids").read_bytes()


def test_one_pretty_printed_object_is_one_record(tmp_path: Path) -> None:
    document = tmp_path / "config.json"
    document.write_bytes(orjson.dumps(RECORDS[0], option=orjson.OPT_INDENT_2))
    result = encode(document, "-o", "-")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1


def test_a_one_line_array_of_json_lines_says_how_to_read_its_elements(tmp_path: Path) -> None:
    """Nothing becomes one record silently: a .jsonl file whose one line is an array is one
    record (JSON Lines says so), and the run says how to read its elements."""
    compact = tmp_path / "countries.jsonl"
    compact.write_bytes(orjson.dumps(RECORDS) + b"\n")
    result = encode(compact, "-o", tmp_path / "v.npy")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[-1] == (
        f"jsonvec: note: {compact} holds one line, an array: it is one record; "
        "--input-format json reads its elements as records"
    )
    again = encode(compact, "-o", tmp_path / "w.npy", "--input-format", "json", "-q")
    assert again.exit_code == 0
    assert np.load(tmp_path / "w.npy").shape == (44, 1024)


def test_a_pretty_printed_json_lines_file_says_what_it_likely_is(tmp_path: Path) -> None:
    pretty = tmp_path / "countries.jsonl"
    pretty.write_bytes(orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2))
    result = encode(pretty, "-o", tmp_path / "v.npy")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {pretty}:1: invalid JSON: the value is cut short at column 2 (a truncated "
        "line?); a pretty-printed JSON document? read it with --input-format json\n"
    )


def test_stdin_and_the_format_by_option(lines: Path, tmp_path: Path) -> None:
    document = orjson.dumps(RECORDS, option=orjson.OPT_INDENT_2)
    result = CliRunner().invoke(cli, ["encode", "-o", "-", "--input-format", "json", "-q"],
                                input=document)  # fmt: skip
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 44
    named = tmp_path / "lines.json"  # JSON Lines in a file named .json: each line a record
    named.write_bytes(lines.read_bytes())
    for fmt in ([], ["--input-format", "jsonl"]):
        out = encode(named, "-o", "-", "-q", *fmt)
        assert len(out.stdout.splitlines()) == 44


def test_an_invalid_record_of_a_document_is_skipped_and_copied(tmp_path: Path) -> None:
    document = tmp_path / "doc.json"
    document.write_bytes(b'[\n  {"a": 1},\n  {"a": NaN,\n   "b": 2},\n  {"a": 3}\n]\n')
    stopped = encode(document, "-o", tmp_path / "v.npy")
    assert stopped.exit_code == 1
    assert stopped.stderr.startswith(f"Error: {document}:3: invalid JSON: ")
    rejects = tmp_path / "bad.jsonl"
    done = encode(document, "-o", tmp_path / "v.npy", "--skip-invalid", "--rejects", rejects)
    assert done.exit_code == 0
    assert rejects.read_bytes() == b'{"a": NaN,\n   "b": 2}\n'
    assert np.load(tmp_path / "v.npy").shape[0] == 2


def test_a_broken_document_writes_nothing(tmp_path: Path) -> None:
    document = tmp_path / "doc.json"
    document.write_bytes(b'[\n  {"a": 1},\n  {"a": 2}\n  {"a": 3}\n]\n')
    result = encode(document, "-o", tmp_path / "v.npy", "--skip-invalid", *MANY)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {document}:4: not a JSON document: expected , or ] after an element (column 3)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.json"]


@pytest.mark.timeout(300)
def test_a_large_array_in_bounded_memory(tmp_path: Path) -> None:
    """150 MB of document, encoded holding a piece and a batch at a time."""
    document = tmp_path / "big.json"
    with open(document, "wb") as out:
        out.write(b"[\n")
        text = " ".join(f"w{i:x}" for i in range(1500))
        for i in range(21_000):
            out.write(b'  {"id": %d, "text": "%s %d"},\n' % (i, text.encode(), i))
        out.write(b'  {"id": "last"}\n]\n')
    assert document.stat().st_size > 150_000_000
    command = [
        sys.executable,
        "-c",
        MEASURE,
        *jsonvec("encode", document, "-o", tmp_path / "v.npy"),
    ]
    done = run(command, timeout=300)
    status, peak_mb = (int(word) for word in done.stdout.split())
    assert status == 0, done.stderr
    assert b"encoded 21,001 records" in done.stderr
    assert peak_mb < 130, f"peak RSS {peak_mb} MB"
