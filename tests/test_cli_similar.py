from __future__ import annotations

import os
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from jsonvec import Codebook
from jsonvec.cli import cli
from jsonvec.codebook_file import save_codebook
from tests.helpers import run, write_vectors


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def people(tmp_path: Path, samples: Path) -> Path:
    return write_vectors(tmp_path / "people.parquet", samples / "people.jsonl")


def hits(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    return [orjson.loads(line) for line in result.stdout_bytes.splitlines()]


def test_example_query(runner: CliRunner, people: Path) -> None:
    result = runner.invoke(cli, ["similar", str(people), '{"city": "Madrid"}', "-n", "3"])
    found = hits(result)
    assert [h["rank"] for h in found] == [1, 2, 3]
    assert {h["id"] for h in found[:2]} == {"p03", "p04"}
    assert set(found[0]) == {"id", "score", "rank"}
    scores = [h["score"] for h in found]
    assert scores == sorted(scores, reverse=True)
    assert result.stderr == ""


def test_full_record_scores_one(runner: CliRunner, people: Path, samples: Path) -> None:
    record = (samples / "people.jsonl").read_text().splitlines()[4]
    found = hits(runner.invoke(cli, ["similar", str(people), record, "-n", "1"]))
    assert found == [{"id": "p05", "score": 1.0, "rank": 1}]


def test_queries_from_file_and_stdin(runner: CliRunner, people: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"name": "Jon Smith"}\n\n{"city": "Osaka"}\n')
    for args, data in [(["-i", str(queries)], None), (["-i", "-"], queries.read_bytes())]:
        found = hits(runner.invoke(cli, ["similar", str(people), *args, "-n", "2"], input=data))
        assert [(h["query"], h["rank"]) for h in found] == [(0, 1), (0, 2), (1, 1), (1, 2)]
        assert found[2]["id"] == "p10"


def test_query_by_id_leaves_the_record_out(runner: CliRunner, people: Path) -> None:
    found = hits(runner.invoke(cli, ["similar", str(people), "--id", "p01", "-n", "2"]))
    assert [h["id"] for h in found] == ["p02", "p08"]


def test_records_and_threshold(runner: CliRunner, people: Path) -> None:
    args = ["similar", str(people), "--id", "p01", "--records", "--threshold", "0.5"]
    found = hits(runner.invoke(cli, args))
    assert len(found) == 1
    assert found[0]["record"]["name"] == "Johnathan Smith"  # type: ignore[index]


def test_plain_table(runner: CliRunner, people: Path) -> None:
    result = runner.invoke(cli, ["similar", str(people), "--id", "p01", "-n", "2", "--plain"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["rank", "score", "id"]
    assert lines[1].split()[0::2] == ["1", "p02"]
    assert len(lines) == 3
    assert len({line.index("p") for line in lines[1:]}) == 1  # the id column is aligned


def test_npy_folder_and_glob(runner: CliRunner, tmp_path: Path, samples: Path) -> None:
    day = tmp_path / "day"
    day.mkdir()
    write_vectors(day / "1.npy", samples / "people.jsonl")
    write_vectors(day / "2.parquet", samples / "products.jsonl", id_field="sku")
    for where in [str(day), str(day / "*")]:
        found = hits(runner.invoke(cli, ["similar", where, '{"title": "water bottle"}', "-n", "1"]))
        assert found[0]["id"] in {"A-100", "A-101"}


def test_codebook_mismatch_is_an_error(runner: CliRunner, people: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.codebook"
    save_codebook(Codebook(seed=9), other)
    result = runner.invoke(cli, ["similar", str(people), "{}", "--codebook", str(other)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the vectors were encoded with codebook {Codebook().fingerprint}, but the query "
        f"uses {other} ({Codebook(seed=9).fingerprint}); pass the same --codebook\n"
    )
    assert result.stdout == ""


def test_mixed_vectors_are_an_error(runner: CliRunner, people: Path, samples: Path) -> None:
    other = write_vectors(people.with_name("o.parquet"), samples / "people.jsonl", Codebook(seed=2))
    result = runner.invoke(cli, ["similar", str(people), str(other), "{}"])
    assert result.exit_code == 1
    assert "cannot be mixed" in result.stderr
    assert Codebook().fingerprint in result.stderr
    assert Codebook(seed=2).fingerprint in result.stderr


def test_empty_collection(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "e.jsonl"
    source.write_bytes(b"")
    empty = write_vectors(tmp_path / "e.parquet", source)
    result = runner.invoke(cli, ["similar", str(empty), "{}"])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "jsonvec: the vectors hold no records\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give VECTORS and a query"),
        (["{not json"], "not valid JSON"),
        (["--id", "p01", "-i", "-"], "give one query"),
        (["--id", "p01", "-n", "0"], "-n"),
    ],
)
def test_usage_errors(runner: CliRunner, people: Path, args: list[str], message: str) -> None:
    result = runner.invoke(cli, ["similar", str(people), *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_records_need_kept_records(runner: CliRunner, tmp_path: Path, samples: Path) -> None:
    npy = write_vectors(tmp_path / "p.npy", samples / "people.jsonl")
    result = runner.invoke(cli, ["similar", str(npy), "{}", "--records"])
    assert result.exit_code == 2
    assert "--records needs vectors written with encode --keep-records" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--id", "nobody"], "Error: id 'nobody' is not in the vectors\n"),
        (["-i", "QUERIES"], "Error: QUERIES:2: invalid JSON: "),
    ],
)
def test_data_errors(
    runner: CliRunner, people: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"a": 1}\n{"a": \n')
    args = [str(queries) if a == "QUERIES" else a for a in args]
    result = runner.invoke(cli, ["similar", str(people), *args])
    assert result.exit_code == 1
    assert result.stderr.startswith(message.replace("QUERIES", str(queries)))


def test_index_build_and_use(runner: CliRunner, people: Path, tmp_path: Path) -> None:
    pytest.importorskip("usearch")
    index = tmp_path / "people.usearch"
    built = runner.invoke(cli, ["index", "build", str(people), "-o", str(index)])
    assert built.exit_code == 0, built.output
    assert built.stderr.startswith("jsonvec: indexed 12 vectors in ")
    args = ["similar", str(people), "--id", "p01", "-n", "2"]
    exact = hits(runner.invoke(cli, args))
    approx = hits(runner.invoke(cli, [*args, "--index", str(index)]))
    assert [h["id"] for h in approx] == [h["id"] for h in exact]
    later = people.stat().st_mtime_ns + 10**9
    os.utime(people, ns=(later, later))
    stale = runner.invoke(cli, [*args, "--index", str(index)])
    assert stale.exit_code == 1
    assert "is out of date" in stale.stderr


def test_head_ends_quietly(people: Path) -> None:
    command = (
        f"{sys.executable} -m jsonvec similar {people} -n 12 -i - | head -n 1; "
        "exit ${PIPESTATUS[1]}"
    )
    queries = b'{"name": "x"}\n' * 400
    proc = run(["bash", "-c", command], input=queries)
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) == 1
    assert proc.stderr == b""
