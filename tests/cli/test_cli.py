from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from jsonvec import Codebook, encode_batch, load_codebook
from jsonvec.cli import cli
from tests.helpers import jsonvec, run


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def records(path: Path) -> list[object]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def parquet_vectors(path: Path) -> tuple[list[object], np.ndarray]:
    table = pq.read_table(path)
    return table.column("id").to_pylist(), np.stack(table.column("vector").to_numpy(False))


def test_encode_to_parquet(runner: CliRunner, samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "people.parquet"
    result = runner.invoke(cli, ["encode", str(samples / "people.jsonl"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("jsonvec: encoded 12 records in ")
    assert f"-> {out}" in result.stderr
    ids, vectors = parquet_vectors(out)
    assert ids == list(range(12))
    assert np.array_equal(vectors, encode_batch(records(samples / "people.jsonl")))


def test_encode_several_inputs_with_id_field(
    runner: CliRunner, samples: Path, tmp_path: Path
) -> None:
    out = tmp_path / "v.npy"
    people = str(samples / "people.jsonl")
    result = runner.invoke(cli, ["encode", people, people, "-o", str(out), "--id-field", "id"])
    assert result.exit_code == 0, result.output
    assert np.load(out).shape == (24, 1024)
    ids = (tmp_path / "v.npy.ids").read_text().split()
    assert ids[:2] == ['"p01"', '"p02"']
    assert len(ids) == 24


@pytest.mark.parametrize("args", [["-"], []])
def test_encode_stdin_to_stdout(runner: CliRunner, args: list[str]) -> None:
    data = b'{"a": 1}\n{"a": 2}\n'
    result = runner.invoke(cli, ["encode", *args, "-o", "-", "-q"], input=data)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    rows = [orjson.loads(line) for line in result.stdout_bytes.splitlines()]
    assert [r["id"] for r in rows] == [0, 1]
    expected = encode_batch([{"a": 1}, {"a": 2}])
    assert np.array_equal(np.array([r["vector"] for r in rows], dtype=np.float32), expected)


def test_encode_gzip_stdin(runner: CliRunner, samples: Path) -> None:
    data = gzip.compress((samples / "products.jsonl").read_bytes())
    result = runner.invoke(cli, ["encode", "-o", "-", "--id-field", "sku"], input=data)
    assert result.exit_code == 0, result.output
    first = orjson.loads(result.stdout_bytes.splitlines()[0])
    assert first["id"] == "A-100"


def test_invalid_line_stops_and_writes_nothing(
    runner: CliRunner, samples: Path, tmp_path: Path
) -> None:
    out = tmp_path / "v.parquet"
    out.write_bytes(b"previous run")
    broken = samples / "broken.jsonl"
    result = runner.invoke(cli, ["encode", str(broken), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {broken}:2: invalid JSON: ")
    assert len(result.stderr.splitlines()) == 1
    assert out.read_bytes() == b"previous run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.parquet"]


def test_skip_invalid_with_rejects(runner: CliRunner, samples: Path, tmp_path: Path) -> None:
    out, rejects = tmp_path / "v.parquet", tmp_path / "rejects.jsonl"
    broken = samples / "broken.jsonl"
    result = runner.invoke(
        cli,
        ["encode", str(broken), "-o", str(out), "--skip-invalid", "--rejects", str(rejects)],
    )
    assert result.exit_code == 0, result.output
    assert rejects.read_bytes() == broken.read_bytes().splitlines(keepends=True)[1]
    assert "skipped 1 invalid line (copied to" in result.stderr
    assert f"skipped {broken}:2: invalid JSON" in result.stderr
    ids, vectors = parquet_vectors(out)
    assert ids == [0, 2]  # positions in the input: skipping does not shift ids
    valid = [r for i, r in enumerate(broken.read_bytes().splitlines()) if i != 1]
    assert np.array_equal(vectors, encode_batch([orjson.loads(r) for r in valid]))


@pytest.mark.parametrize(("limit", "code"), [("0", 1), ("1", 0)])
def test_max_invalid(
    runner: CliRunner, samples: Path, tmp_path: Path, limit: str, code: int
) -> None:
    """--max-invalid N: skip up to N invalid lines; one more fails the run, writing nothing."""
    out, rejects = tmp_path / "v.parquet", tmp_path / "rejects.jsonl"
    broken = samples / "broken.jsonl"
    args = [
        "encode",
        str(broken),
        "-o",
        str(out),
        "--max-invalid",
        limit,
        "--rejects",
        str(rejects),
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == code, result.output
    if code:
        assert result.stderr == (
            f"Error: {broken}:2: more than 0 invalid lines (--max-invalid); this one: "
            "invalid JSON: the value is cut short at column 22 (a truncated line?)\n"
        )
        assert sorted(p.name for p in tmp_path.iterdir()) == []
    else:
        assert parquet_vectors(out)[0] == [0, 2]
        assert rejects.read_bytes() == broken.read_bytes().splitlines(keepends=True)[1]


def test_missing_id_field(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    result = runner.invoke(
        cli, ["encode", "-", "-o", str(out), "--id-field", "user.id"], input=b'{"user": {}}\n'
    )
    assert result.exit_code == 1
    assert result.stderr == "Error: <stdin>:1: field 'user.id' is missing\n"
    assert not out.exists()


def test_composite_id_is_invalid(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["encode", "-o", "-", "--id-field", "k"], input=b'{"k": [1]}\n')
    assert result.exit_code == 1
    assert "<stdin>:1: id field 'k' must be a string or an integer" in result.stderr


def test_blank_lines_are_counted_not_encoded(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["encode", "-o", "-"], input=b'1\n\n  \r\n"x"')
    assert result.exit_code == 0
    assert len(result.stdout_bytes.splitlines()) == 2
    assert "ignored 2 blank lines" in result.stderr
    one = runner.invoke(cli, ["encode", "-o", "-"], input=b"1\n\n")
    assert "; ignored 1 blank line\n" in one.stderr
    assert "encoded 1 record in " in one.stderr


def test_empty_input_gives_empty_output(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    result = runner.invoke(cli, ["encode", "-", "-o", str(out)], input=b"")
    assert result.exit_code == 0
    assert pq.read_table(out).num_rows == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["encode", "-", "-o", "v.csv"], "cannot tell the output format"),
        (
            ["encode", "-", "-o", "v.npy", "--rejects", "r"],
            "--rejects needs --skip-invalid or --max-invalid",
        ),
        (["encode", "-"], "Missing option '-o'"),
        (["encode", "-", "-o", "-", "--id-field", "a..b"], "empty key"),
        (["encode", "-", "-o", "-", "--batch-size", "0"], "batch-size"),
        (["codebook", "new", "-o", "cb", "--dim", "100"], "multiple of 8"),
        (["codebook", "new", "-o", "cb", "--param", "nope=1"], "unknown setting 'nope'"),
        (["codebook", "new", "-o", "cb", "--param", "ngram"], "expected NAME=VALUE"),
    ],
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(cli, args, input=b"")
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_missing_input_is_an_error(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    result = runner.invoke(cli, ["encode", str(tmp_path / "nope.jsonl"), "-o", str(out)])
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: {tmp_path / 'nope.jsonl'}: cannot read: No such file or directory\n"
    )
    assert not out.exists()


def test_codebook_new_info_and_use(runner: CliRunner, samples: Path, tmp_path: Path) -> None:
    cb, out = tmp_path / "my.codebook", tmp_path / "v.parquet"
    result = runner.invoke(
        cli,
        ["codebook", "new", "-o", str(cb), "--dim", "256", "--seed", "7", "--set-array", "tags"],
    )
    assert result.exit_code == 0, result.output
    book = load_codebook(cb)
    assert (book.dim, book.seed, book.settings.set_arrays) == (256, 7, ("tags",))
    assert result.stderr == f"jsonvec: wrote codebook {book.fingerprint} to {cb}\n"

    info = runner.invoke(cli, ["codebook", "info", str(cb), "--json"])
    assert info.exit_code == 0
    fields = orjson.loads(info.stdout)
    assert fields["fingerprint"] == book.fingerprint
    assert fields["size_bytes"] == cb.stat().st_size
    assert (fields["dim"], fields["seed"]) == (256, 7)

    people = samples / "people.jsonl"
    result = runner.invoke(cli, ["encode", str(people), "-o", str(out), "--codebook", str(cb)])
    assert result.exit_code == 0, result.output
    meta = orjson.loads(pq.read_schema(out).metadata[b"jsonvec"])
    assert meta["codebook"] == book.fingerprint
    assert meta["dim"] == 256
    assert np.array_equal(parquet_vectors(out)[1], encode_batch(records(people), book))


def test_codebook_info_default(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["codebook", "info"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "codebook      the built-in default",
        f"fingerprint   {Codebook().fingerprint}",
        "format        2",
    ]
    assert "  number_level_widths   0.0625, 0.5, 4, 16" in lines
    assert "  set_arrays            (none)" in lines
    machine = orjson.loads(runner.invoke(cli, ["codebook", "info", "--json"]).stdout)
    assert (machine["path"], machine["size_bytes"]) == (None, None)


def test_codebook_info_is_readable(runner: CliRunner, tmp_path: Path) -> None:
    """No Python reprs: lists and weights as people write them."""
    cb = tmp_path / "cb"
    args = ["--set-array", "tags", "--set-array", "a.b[]", "--field-weight", "name=2"]
    assert runner.invoke(cli, ["codebook", "new", "-o", str(cb), *args]).exit_code == 0
    result = runner.invoke(cli, ["codebook", "info", str(cb)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"codebook      {cb} ({cb.stat().st_size:,} bytes)"
    assert "  set_arrays            tags, a.b[]" in lines
    assert "  field_weights         name=2" in lines
    assert "  ignore_fields         (none)" in lines
    assert "'" not in result.stdout
    assert "{" not in result.stdout


def test_bad_codebook_is_one_line(runner: CliRunner, samples: Path) -> None:
    people = str(samples / "people.jsonl")
    result = runner.invoke(cli, ["encode", people, "-o", "-", "--codebook", people])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {people}: not a jsonvec codebook file\n"


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["encode"],
        ["similar"],
        ["codebook"],
        ["codebook", "new"],
        ["codebook", "info"],
        ["codebook", "fit"],
        ["index"],
        ["index", "build"],
        ["index", "check"],
    ],
)
def test_help_has_examples_and_every_option_says_what_it_does(
    runner: CliRunner, command: list[str]
) -> None:
    result = runner.invoke(cli, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    options = result.stdout.split("Options:")[-1].split("Commands:")[0].splitlines()[1:]
    described = [re.sub(r"\[[^]]*\]", "", line).strip() for line in options]
    undescribed = [line for line in described if line.startswith("-") and "  " not in line]
    assert undescribed == []


@pytest.mark.parametrize(
    ("command", "phrases"),
    [
        (["encode"], ["--batch-size", "user.id", "items[0]", "--max-invalid", "141"]),
        (["codebook", "new"], ["from 64 to 65536", "2**64-1", "items[].sku"]),
        (["similar"], ["Hits per query", "--ef", "--query JSON", "-q, --quiet", "./42"]),
        (["index", "build"], ["-q, --quiet", "Links per node", "two files"]),
    ],
)
def test_help_explains(runner: CliRunner, command: list[str], phrases: list[str]) -> None:
    text = " ".join(runner.invoke(cli, [*command, "--help"]).stdout.split())
    for phrase in phrases:
        assert phrase in text


def test_real_process_pipe(samples: Path) -> None:
    """The installed entry point, stdin from a pipe, vectors on stdout, summary on stderr."""
    proc = run(jsonvec("encode", "-o", "-"), input=(samples / "products.jsonl").read_bytes())
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) == 8
    assert proc.stderr.startswith(b"jsonvec: encoded 8 records")


def test_codebook_new_field_options(runner: CliRunner, tmp_path: Path) -> None:
    cb = tmp_path / "cb"
    result = runner.invoke(
        cli,
        [
            "codebook", "new", "-o", str(cb), "--ignore-field", "id",
            "--field-weight", "a=b=2", "--param", "set_arrays=[\"x=y\"]",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    settings = load_codebook(cb).settings
    assert settings.ignore_fields == ("id",)
    assert settings.field_weights == {"a=b": 2.0}
    assert settings.set_arrays == ("x=y",)


def test_codebook_fit(runner: CliRunner, samples: Path, tmp_path: Path) -> None:
    cb = tmp_path / "fitted"
    base = tmp_path / "base"
    runner.invoke(cli, ["codebook", "new", "-o", str(base), "--dim", "128", "--seed", "4"])
    result = runner.invoke(
        cli,
        ["codebook", "fit", str(samples / "products.jsonl"), "-o", str(cb), "--from", str(base)],
    )
    assert result.exit_code == 0, result.output
    book = load_codebook(cb)
    assert (book.dim, book.seed) == (128, 4)
    assert book.settings.field_weights["category"] < 1.0
    assert "sku" not in book.settings.field_weights
    assert f"({len(book.settings.field_weights)} field weights, learnt from 8 records)" in (
        result.stderr
    )


def test_codebook_fit_stops_at_an_invalid_line(
    runner: CliRunner, samples: Path, tmp_path: Path
) -> None:
    broken = str(samples / "broken.jsonl")
    result = runner.invoke(cli, ["codebook", "fit", broken, "-o", str(tmp_path / "cb")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {broken}:2: invalid JSON")
    assert not (tmp_path / "cb").exists()
    skipping = runner.invoke(
        cli, ["codebook", "fit", broken, "-o", str(tmp_path / "cb"), "--skip-invalid"]
    )
    assert skipping.exit_code == 0
    assert skipping.stderr.endswith(
        "(0 field weights, learnt from 2 records; skipped 1 invalid line)\n"
    )


@pytest.mark.parametrize("data", [b"", b"\n\n", b"{oops\n"])
def test_codebook_fit_needs_records(runner: CliRunner, tmp_path: Path, data: bytes) -> None:
    out = tmp_path / "cb"
    result = runner.invoke(
        cli, ["codebook", "fit", "-", "-o", str(out), "--skip-invalid"], input=data
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: <stdin>: no records to learn from (the input is empty or every line was "
        "invalid); no codebook written\n"
    )
    assert not out.exists()


def big_input(tmp_path: Path, samples: Path, copies: int) -> Path:
    path = tmp_path / "big.jsonl"
    path.write_bytes((samples / "products.jsonl").read_bytes() * copies)
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".npy"])
def test_jobs_give_byte_identical_files(samples: Path, tmp_path: Path, suffix: str) -> None:
    data = big_input(tmp_path, samples, 60)
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}{suffix}"
        command = jsonvec("encode", data, "-o", out, "--batch-size", "64", "--jobs", jobs, "-q")
        assert run(command).returncode == 0
        sidecars = sorted(tmp_path.glob(f"j{jobs}.*"))
        outputs.append([p.read_bytes() for p in sidecars])
    assert outputs[0] == outputs[1]


def test_edge_case_records(runner: CliRunner, tmp_path: Path) -> None:
    """Long strings, a million numbers, any JSON value as a record, duplicate ids."""
    book = tmp_path / "cb"
    small = ["--dim", "64", "--param", "atom_nonzeros=1", "--param", "array_set_weight=0"]
    assert runner.invoke(cli, ["codebook", "new", "-o", str(book), *small]).exit_code == 0
    lines = [
        orjson.dumps({"id": "a", "text": "x" * 5_000_000}),
        orjson.dumps({"id": "b", "numbers": list(range(1_000_000))}),
        orjson.dumps({"id": "a", "again": True}),  # a duplicate id is written as it comes
    ]
    data = tmp_path / "edge.jsonl"
    data.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "v.parquet"
    args = [str(data), "-o", str(out), "--codebook", str(book), "--id-field", "id", "--jobs", "1"]
    result = runner.invoke(cli, ["encode", *args])
    assert result.exit_code == 0, result.output
    ids, vectors = parquet_vectors(out)
    assert ids == ["a", "b", "a"]
    assert np.isfinite(vectors).all()


def test_nesting_beyond_the_depth_limit_is_an_invalid_line(runner: CliRunner) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000 + b"\n"
    result = runner.invoke(cli, ["encode", "-", "-o", "-"], input=b"[1]\n" + deep)
    assert result.exit_code == 1
    assert result.stderr == "Error: <stdin>:2: invalid JSON: depth limit exceeded (column 1026)\n"
    result = runner.invoke(cli, ["encode", "-", "-o", "-", "--skip-invalid", "-q"], input=deep * 2)
    assert result.exit_code == 0
    assert result.stdout == ""


@pytest.mark.parametrize("line", [b"1", b'"text"', b"[1, 2]", b"null", b"true", b"{}"])
def test_any_json_value_is_a_record(runner: CliRunner, line: bytes) -> None:
    result = runner.invoke(cli, ["encode", "-", "-o", "-", "-q"], input=line + b"\n")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1


def test_the_readme_codebook_flow_runs(samples: Path, tmp_path: Path) -> None:
    """The commands of the README's Codebooks section, as written, on samples/people.jsonl."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Codebooks", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    (tmp_path / "people.jsonl").write_bytes((samples / "people.jsonl").read_bytes())
    script = block.replace("jsonvec ", " ".join(jsonvec()) + " ")
    done = run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = [orjson.loads(line) for line in done.stdout.splitlines() if line.startswith(b"{")]
    assert [hit["id"] for hit in found][:1] == ["p02"]


def test_encode_to_npy_does_not_load_parquet_support(tmp_path: Path, samples: Path) -> None:
    """pyarrow is a large import (tenths of a second): a run that writes .npy needs none."""
    command = [sys.executable, "-X", "importtime", "-m", "jsonvec", "encode",
               str(samples / "people.jsonl"), "-o", str(tmp_path / "v.npy"), "-q"]  # fmt: skip
    done = run(command)
    assert done.returncode == 0
    imported = [line.split("|")[-1].strip() for line in done.stderr.decode().splitlines()]
    assert not [m for m in imported if m.startswith(("pyarrow", "tqdm", "pandas"))]
