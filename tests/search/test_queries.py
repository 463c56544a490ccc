"""The one query rule: the last argument is the query when it is JSON, and is never looked up
as a file; every other argument names vectors, and one that names nothing says so."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from jsonvec.cli import cli
from jsonvec.errors import UsageError
from jsonvec.search.queries import split_arguments
from tests.helpers import jsonvec, run, write_vectors

#: the longest argument Linux passes to a program (MAX_ARG_STRLEN, 32 pages, with its NUL)
ARGUMENT_MAX = 32 * 4096 - 1


@pytest.fixture
def people(tmp_path: Path, samples: Path) -> Path:
    return write_vectors(tmp_path / "people.parquet", samples / "people.jsonl")


def test_a_record_longer_than_a_file_name_is_a_query(people: Path, samples: Path) -> None:
    """The README's first search example, with a real record of over 255 bytes."""
    record = orjson.loads((samples / "people.jsonl").read_bytes().splitlines()[2])
    record["note"] = "a long remark " * 30
    query = orjson.dumps(record).decode()
    assert len(query) > 255
    result = CliRunner().invoke(cli, ["similar", str(people), query, "-n", "1"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["id"] == record["id"]


def test_a_query_as_long_as_the_system_passes(people: Path, samples: Path) -> None:
    """In a real process: one argument of 128 KB (the Linux limit) is a query."""
    record = orjson.loads((samples / "people.jsonl").read_bytes().splitlines()[2])
    padding = ARGUMENT_MAX - len(orjson.dumps({**record, "note": ""}))
    query = orjson.dumps({**record, "note": "x" * padding}).decode()
    assert len(query.encode()) == ARGUMENT_MAX
    done = run(jsonvec("similar", people, query, "-n", "1"))
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["id"] == record["id"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.parquet", "--id", "1"], "missing.parquet: no such vectors file, folder or glob"),
        (["PEOPLE", "gone.parquet", "{}"], "gone.parquet: no such vectors file, folder or glob"),
        (["PEOPLE", "x" * 300], f"{'x' * 300}: no such vectors file, folder or glob"),
        (["PEOPLE", '{"name": "Ann", "city": '], "the query is not valid JSON: unexpected end of "
         "data (column 25)"),
        (["PEOPLE", '["a", ]'], "the query is not valid JSON: "),
        (["PEOPLE", "--query", "{oops"], "--query is not valid JSON: "),
        (["PEOPLE", "--id", "p01", '{"a": 1}'], "give one query, not 2"),
        (['{"a": 1}'], "give VECTORS: vectors files, folders or glob patterns"),
    ],
)  # fmt: skip
def test_what_is_not_vectors_or_a_query_says_so(
    people: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        cli, ["similar", *[str(people) if a == "PEOPLE" else a for a in args]]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {message}")
    assert len(result.stderr.splitlines()) == 1


def test_a_file_whose_name_is_json_is_named_with_a_path(
    people: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "42"
    folder.mkdir()
    shutil.copy(people, folder / "people.parquet")
    assert split_arguments([str(people), "42"]) == ([str(people)], "42")
    result = CliRunner().invoke(
        cli, ["similar", "./42", "--id", "p01", "-n", "1"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output


def test_split_arguments_never_looks_the_query_up(monkeypatch: pytest.MonkeyPatch) -> None:
    looked: list[str] = []
    monkeypatch.setattr(
        "jsonvec.search.queries.names_vectors", lambda arg: looked.append(arg) or True
    )
    assert split_arguments(["a.parquet", "b/", '{"q": 1}']) == (["a.parquet", "b/"], '{"q": 1}')
    assert looked == ["a.parquet", "b/"]
    with pytest.raises(UsageError, match="give VECTORS"):
        split_arguments(["null"])
