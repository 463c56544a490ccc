from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from jsonvec import Codebook, Settings
from jsonvec.cli import cli
from jsonvec.codebook.files import save_codebook
from jsonvec.version import ENCODING, __version__
from tests.helpers import jsonvec, run, write_vectors
from tests.storage.test_collection import say_encoding


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
        # "query" is the line number: the blank second line counts
        assert [(h["query"], h["rank"]) for h in found] == [(1, 1), (1, 2), (3, 1), (3, 2)]
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


def test_vectors_of_other_encoding_rules_are_an_error(runner: CliRunner, people: Path) -> None:
    say_encoding(people, 4)
    result = runner.invoke(cli, ["similar", str(people), "{}"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {people}: encoded by the rules of a newer jsonvec (encoding 4; this is "
        f"jsonvec {__version__}, encoding 3): upgrade jsonvec, or re-encode\n"
    )
    say_encoding(people, None)  # a file of jsonvec 0.2 or 0.3
    result = runner.invoke(cli, ["similar", str(people), "{}"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {people}: encoded by jsonvec 0.2 rules (encoding 2), which give other "
        "vectors than this jsonvec's (encoding 3): re-encode the records\n"
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
        ([], "give a query: QUERY (the last argument), --query JSON, -i FILE or --id ID"),
        (["{not json"], "the query is not valid JSON: unexpected character"),
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


def test_index_build_and_use(
    runner: CliRunner, people: Path, tmp_path: Path, samples: Path
) -> None:
    pytest.importorskip("usearch")
    index = tmp_path / "people.usearch"
    built = runner.invoke(cli, ["index", "build", str(people), "-o", str(index)])
    assert built.exit_code == 0, built.output
    assert built.stderr.startswith("jsonvec: indexed 12 vectors in ")
    quiet = runner.invoke(cli, ["index", "build", str(people), "-o", str(index), "-q"])
    assert (quiet.exit_code, quiet.stderr) == (0, "")
    args = ["similar", str(people), "--id", "p01", "-n", "2"]
    exact = hits(runner.invoke(cli, args))
    approx = hits(runner.invoke(cli, [*args, "--index", str(index), "--ef", "32"]))
    assert [h["id"] for h in approx] == [h["id"] for h in exact]
    flipped = bytearray(index.read_bytes())
    flipped[len(flipped) // 3] ^= 0x04
    original, _ = index.read_bytes(), index.write_bytes(bytes(flipped))
    damaged = runner.invoke(cli, [*args, "--index", str(index)])
    assert damaged.exit_code == 1
    assert damaged.stderr == f"Error: {index}: index file is damaged (checksum mismatch)\n"
    index.write_bytes(original)
    write_vectors(people, samples / "products.jsonl", id_field="sku")
    stale = runner.invoke(cli, ["similar", str(people), "{}", "--index", str(index)])
    assert stale.exit_code == 1
    assert "is out of date" in stale.stderr


def test_ef_needs_an_index(runner: CliRunner, people: Path) -> None:
    result = runner.invoke(cli, ["similar", str(people), "{}", "--ef", "100"])
    assert result.exit_code == 2
    assert "--ef needs --index" in result.stderr


@pytest.mark.parametrize("repeat", range(2))
def test_a_closed_pipe_exits_141(people: Path, tmp_path: Path, repeat: int) -> None:
    """`| head` closes the pipe: exit 141 as for cat, nothing on stderr; the status itself."""
    queries = tmp_path / "q.jsonl"
    queries.write_bytes(b'{"city": "Madrid"}\n' * 2000)
    similar = " ".join(jsonvec("similar", people, "-n", "12", "-i", queries))
    command = f"{similar} | head -n 1; exit ${{PIPESTATUS[0]}}"
    proc = run(["bash", "-c", command])
    assert proc.returncode == 141
    assert len(proc.stdout.splitlines()) == 1
    assert proc.stderr == b""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--id", "p01", '{"a": 1}'], "give one query, not 2"),
        (["-i", "QUERIES", '{"name": "x"}'], "give one query, not 2"),
        (["-q", "{}", "--id", "p01"], "give one query, not 2"),
        (["PEOPLE"], "give a query"),
        (["nope.parquet", "{}"], "nope.parquet: no such vectors file, folder or glob"),
        (["'nope'"], "'nope': no such vectors file, folder or glob"),
        (["--id", "p01", "'nope'"], "'nope': no such vectors file, folder or glob"),
        (['{"a": '], "the query is not valid JSON: unexpected end of data (column 7)"),
    ],
)
def test_how_arguments_are_read(
    runner: CliRunner, people: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    """A positional naming a file, folder or matching glob is VECTORS; a last other one must
    be JSON; anything else, or a query given two ways, is a usage error (exit 2)."""
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"name": "Jon"}\n')
    names = {"QUERIES": str(queries), "PEOPLE": str(people)}
    result = runner.invoke(cli, ["similar", str(people), *[names.get(a, a) for a in args]])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_two_vectors_files_and_a_query_of_any_json(
    runner: CliRunner, people: Path, tmp_path: Path, samples: Path
) -> None:
    other = write_vectors(tmp_path / "products.parquet", samples / "products.jsonl", None, "sku")
    found = hits(runner.invoke(cli, ["similar", str(people), str(other), '"Madrid"', "-n", "1"]))
    assert len(found) == 1
    pattern = str(tmp_path / "p*.parquet")  # a glob is VECTORS too, --query: no guessing
    args = ["similar", pattern, "--query", '{"city": "Madrid"}', "-n", "2"]
    found = hits(runner.invoke(cli, args))
    assert {h["id"] for h in found} == {"p03", "p04"}
    assert {h["source"] for h in found} == {str(people)}


def test_hits_from_several_files_name_their_source(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"".join(b'{"n": %d, "v": "value %d"}\n' % (i, i) for i in range(6)))
    parts = tmp_path / "parts"
    for _ in range(2):
        result = runner.invoke(cli, ["encode", str(source), "-o", f"{parts}/", "--append"])
        assert result.exit_code == 0, result.output
    found = hits(runner.invoke(cli, ["similar", str(parts), '{"n": 4, "v": "value 4"}', "-n", "2"]))
    assert [(h["id"], h["source"]) for h in found] == [
        (4, str(parts / "part-000000.parquet")),
        (10, str(parts / "part-000001.parquet")),
    ]
    plain = runner.invoke(cli, ["similar", str(parts), "--id", "4", "-n", "1", "--plain"])
    assert plain.exit_code == 0, plain.output
    header, row = plain.stdout.splitlines()
    assert header.split() == ["rank", "score", "id", "source"]
    assert row.split()[2:] == ["10", str(parts / "part-000001.parquet")]


def test_an_ambiguous_id_is_refused(runner: CliRunner, tmp_path: Path, samples: Path) -> None:
    """Two records hold the id (two runs of positional ids written apart): name both."""
    parts = tmp_path / "parts"
    parts.mkdir()
    for name in ("a.parquet", "b.parquet"):
        write_vectors(parts / name, samples / "people.jsonl", id_field=None)
    result = runner.invoke(cli, ["similar", str(parts), "--id", "3"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: id '3' is held by 2 records ({parts / 'a.parquet'} row 3, "
        f"{parts / 'b.parquet'} row 3); --id needs an id that one record holds\n"
    )


def test_a_field_value_given_as_a_positional_id(
    runner: CliRunner, tmp_path: Path, samples: Path
) -> None:
    """The README flow without --id-field: say that ids are positions, and what to do."""
    vectors = write_vectors(tmp_path / "people.parquet", samples / "people.jsonl", id_field=None)
    result = runner.invoke(cli, ["similar", str(vectors), "--id", "p01"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: id 'p01' is not in the vectors: ids here are record positions (0, 1, 2, ...); "
        "to look records up by a field, encode with --id-field (e.g. --id-field id)\n"
    )
    assert hits(runner.invoke(cli, ["similar", str(vectors), "--id", "0", "-n", "1"]))


def test_the_codebook_comes_from_the_vectors(
    runner: CliRunner, tmp_path: Path, samples: Path
) -> None:
    """No --codebook needed: the vectors' metadata holds it; --codebook must then match."""
    book = Codebook(dim=256, seed=11, settings=Settings(field_weights={"name": 2.0}))
    vectors = write_vectors(tmp_path / "p.parquet", samples / "people.jsonl", book)
    query = (samples / "people.jsonl").read_text().splitlines()[2]
    found = hits(runner.invoke(cli, ["similar", str(vectors), query, "-n", "1"]))
    assert found == [{"id": "p03", "score": 1.0, "rank": 1}]
    path = tmp_path / "same.codebook"
    save_codebook(book, path)
    args = ["similar", str(vectors), query, "-n", "1", "--codebook"]
    assert hits(runner.invoke(cli, [*args, str(path)])) == found
    save_codebook(Codebook(dim=256, seed=12), path)
    result = runner.invoke(cli, [*args, str(path)])
    assert result.exit_code == 1
    assert "pass the same --codebook" in result.stderr


def test_json_lines_vectors_can_be_searched(
    runner: CliRunner, tmp_path: Path, samples: Path
) -> None:
    out = tmp_path / "out.jsonl"
    people = str(samples / "people.jsonl")
    result = runner.invoke(cli, ["encode", people, "-o", str(out), "--id-field", "id", "-q"])
    assert result.exit_code == 0, result.output
    first = orjson.loads(out.read_bytes().splitlines()[0])
    assert first["codebook"] == Codebook().fingerprint
    found = hits(runner.invoke(cli, ["similar", str(out), "--id", "p01", "-n", "2"]))
    assert [h["id"] for h in found] == ["p02", "p08"]
    # lines of jsonvec 0.2 carry no fingerprint and no encoding: other rules, refused
    legacy = tmp_path / "legacy.jsonl"
    lines = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    legacy.write_bytes(
        b"".join(orjson.dumps({"id": r["id"], "vector": r["vector"]}) + b"\n" for r in lines)
    )
    result = runner.invoke(cli, ["similar", str(legacy), '{"city": "Madrid"}', "-n", "2"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {legacy}:1: encoded by jsonvec 0.2 rules (encoding 2), which give other vectors "
        "than this jsonvec's (encoding 3): re-encode the records\n"
    )
    # lines that say their rules but not their codebook: searched with a warning
    bare = tmp_path / "bare.jsonl"
    bare.write_bytes(
        b"".join(
            orjson.dumps({"id": r["id"], "vector": r["vector"], "encoding": ENCODING}) + b"\n"
            for r in lines
        )
    )
    result = runner.invoke(cli, ["similar", str(bare), '{"city": "Madrid"}', "-n", "2"])
    assert {h["id"] for h in hits(result)} == {"p03", "p04"}
    assert result.stderr == (
        f"jsonvec: warning: {bare} does not say which codebook encoded it; "
        "the queries use the built-in codebook\n"
    )
    mixed = tmp_path / "mixed.jsonl"
    other = tmp_path / "other.jsonl"
    book = tmp_path / "cb"
    save_codebook(Codebook(seed=4), book)
    runner.invoke(cli, ["encode", people, "-o", str(other), "--codebook", str(book), "-q"])
    mixed.write_bytes(out.read_bytes() + other.read_bytes())
    result = runner.invoke(cli, ["similar", str(mixed), "{}"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {mixed}:13: encoded with codebook ")
    records = runner.invoke(cli, ["similar", people, "{}"])  # an input, not vectors
    assert records.exit_code == 1
    assert "not a vector line" in records.stderr
