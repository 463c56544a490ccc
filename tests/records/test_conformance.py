"""Conformance: JSONTestSuite files, each read as one JSON Lines input, and as a JSON document.

As JSON Lines (``--input-format jsonl``: the files are named ``*.json``), ``y_`` files (one
line) are encoded; ``n_`` files stop a run with ``FILE:LINE: reason`` and exit status 1, or,
with ``--skip-invalid``, go to ``--rejects`` byte for byte; ``i_`` files get the behaviour
documented in the README. As JSON documents (the choice by name), every ``y_`` file gives its
array's elements or its one value, and no ``n_`` file is taken whole. The copied cases in
``tests/fixtures/jsontestsuite`` always run; the whole suite runs when
``../shared/data/JSONTestSuite`` is there.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from jsonvec import Codebook, Encoder, InputError, InvalidLineError
from jsonvec.cli import cli
from jsonvec.records.reader import read_lines
from jsonvec.run.options import EncodeOptions
from jsonvec.run.stream import encode_lines

FIXTURES = Path(__file__).parents[1] / "fixtures" / "jsontestsuite"
SUITE = Path(__file__).resolve().parents[3] / "shared" / "data" / "JSONTestSuite"
BOOK = Codebook(dim=64)
JSONL = ["--input-format", "jsonl"]  # the files are named .json: read them as JSON Lines

#: ``i_`` cases jsonvec accepts; every other ``i_`` case is rejected as invalid JSON.
ACCEPTED_I = {
    "i_number_double_huge_neg_exp.json",  # underflows to 0
    "i_number_real_underflow.json",  # underflows to 0
    "i_number_too_big_neg_int.json",  # beyond 64 bits: the nearest float64
    "i_number_too_big_pos_int.json",
    "i_number_very_big_negative_int.json",
    "i_structure_500_nested_arrays.json",  # nesting up to 1,024 levels is read
    "i_structure_UTF-8_BOM_empty_object.json",  # a BOM at the start is skipped
}
#: ``n_`` cases that hold no line with a value: as JSON Lines they are inputs of no records.
EMPTY_N = {"n_single_space.json", "n_structure_UTF8_BOM_no_data.json", "n_structure_no_data.json"}


def fixtures(prefix: str) -> list[Path]:
    return sorted(FIXTURES.glob(f"{prefix}_*.json"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("case", fixtures("n"), ids=lambda p: p.name)
def test_rejected_case_stops_the_run(runner: CliRunner, tmp_path: Path, case: Path) -> None:
    out = tmp_path / "v.parquet"
    result = runner.invoke(cli, ["encode", str(case), "-o", str(out), *JSONL])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {case}:1: ")
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", fixtures("n"), ids=lambda p: p.name)
def test_rejected_case_is_copied_to_rejects(runner: CliRunner, tmp_path: Path, case: Path) -> None:
    out, rejects = tmp_path / "v.parquet", tmp_path / "rejects"
    args = ["encode", str(case), "-o", str(out), "--skip-invalid", "--rejects", str(rejects)]
    args += JSONL
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    line = case.read_bytes()  # byte for byte, ending with a newline (a last line may not)
    assert rejects.read_bytes() == (line if line.endswith(b"\n") else line + b"\n")
    assert "skipped 1 invalid line (copied to" in result.stderr
    assert out.exists()


@pytest.mark.parametrize("case", fixtures("y"), ids=lambda p: p.name)
def test_accepted_case_is_encoded(runner: CliRunner, tmp_path: Path, case: Path) -> None:
    result = runner.invoke(cli, ["encode", str(case), "-o", "-", "-q", *JSONL])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize("case", fixtures("i"), ids=lambda p: p.name)
def test_implementation_defined_case(runner: CliRunner, case: Path) -> None:
    result = runner.invoke(cli, ["encode", str(case), "-o", "-", "-q", *JSONL])
    if case.name in ACCEPTED_I:
        assert result.exit_code == 0, result.output
        assert len(result.stdout.splitlines()) == 1
    else:
        assert result.exit_code == 1
        assert result.stderr.startswith(
            (f"Error: {case}:1: invalid JSON: ", f"Error: {case}:1: not valid UTF-8: ")
        )
        assert result.stdout == ""


class Count:
    """A sink that only counts the rows written."""

    rows = 0

    def write(
        self, ids: list[object], vectors: object, records: object = None, crc: object = None
    ) -> None:
        self.rows += len(ids)

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        pass


def outcome(path: Path, fmt: str = "jsonl") -> str:
    """``records N`` (every record encoded), ``invalid`` (a record is not valid JSON) or
    ``broken`` (a document that cannot be cut into records); anything else escaping is a bug
    and fails the test."""
    sink = Count()
    try:
        encode_lines(read_lines([str(path)], fmt=fmt), Encoder(BOOK), sink, EncodeOptions())
    except InvalidLineError:
        return "invalid"
    except InputError:
        return "broken"
    return f"records {sink.rows}"


@pytest.mark.skipif(not SUITE.is_dir(), reason="the full JSONTestSuite is not available")
def test_the_whole_suite() -> None:
    with open(SUITE / "MANIFEST.tsv", encoding="utf-8") as handle:
        manifest = list(csv.DictReader(handle, delimiter="\t"))
    tally: Counter[tuple[str, str]] = Counter()
    for row in manifest:
        path = SUITE / "test_parsing" / row["file"]
        got = outcome(path)
        kind, one_line = row["expected"], path.read_bytes().rstrip(b"\n").count(b"\n") == 0
        if kind == "n":
            expected = "records 0" if row["file"] in EMPTY_N else "invalid"
        elif kind == "y":
            expected = "records 1" if one_line else "invalid"  # JSON Lines: one value per line
        else:
            expected = "records 1" if row["file"] in ACCEPTED_I else "invalid"
        assert got == expected, row["file"]
        tally[(kind, got)] += 1
    assert sum(tally.values()) == len(manifest) == 318
    assert tally[("n", "invalid")] == 185


def elements(path: Path) -> int:
    """How many records a valid document holds: its array's elements, or its one value."""
    value = json.loads(path.read_bytes().decode("utf-8-sig"))
    return len(value) if isinstance(value, list) else 1


#: ``n_`` documents that are valid JSON values one after another: read as records, as
#: concatenated JSON and JSON Lines in a .json file are (documented)
SEQUENCES_N = {"n_structure_object_with_trailing_garbage.json": 'two values: {"a": true} "x"'}


@pytest.mark.skipif(not SUITE.is_dir(), reason="the full JSONTestSuite is not available")
def test_the_whole_suite_as_documents() -> None:
    with open(SUITE / "MANIFEST.tsv", encoding="utf-8") as handle:
        manifest = list(csv.DictReader(handle, delimiter="\t"))
    tally: Counter[tuple[str, str]] = Counter()
    for row in manifest:
        path = SUITE / "test_parsing" / row["file"]
        got = outcome(path, fmt="json")
        if row["expected"] == "y":
            assert got == f"records {elements(path)}", row["file"]
        elif row["expected"] == "n" and row["file"] not in SEQUENCES_N:
            empty = "records 0" if row["file"] in EMPTY_N else None
            assert got in ("invalid", "broken", empty), (row["file"], got)
        tally[(row["expected"], got.split()[0])] += 1
    assert tally[("y", "records")] == 95
    assert tally[("n", "invalid")] + tally[("n", "broken")] == 188 - len(EMPTY_N) - 1
