"""Outputs that would overwrite an input or each other are refused, by inode, not spelling."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from jsonvec.cli import cli
from jsonvec.errors import UsageError
from jsonvec.guard import Named, check_files, reads
from tests.helpers import jsonvec, run

#: several batches and two workers: the refusal must come before any of them start
MANY = ["--batch-size", "16", "--jobs", "2"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def data(tmp_path: Path, samples: Path) -> Path:
    path = tmp_path / "same.jsonl"
    path.write_bytes((samples / "products.jsonl").read_bytes() * 20)
    return path


def refused(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(cli, ["encode", *args])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""


@pytest.mark.parametrize("repeat", range(2))
def test_output_is_an_input(
    runner: CliRunner, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repeat: int
) -> None:
    before = data.read_bytes()
    message = f"output {data} would overwrite input {data}: give the output another name"
    refused(runner, [str(data), "-o", str(data), *MANY], message)
    monkeypatch.chdir(tmp_path)
    message = "output ./same.jsonl would overwrite input same.jsonl: give the output another name"
    refused(runner, ["same.jsonl", "-o", "./same.jsonl", *MANY], message)
    os.link(data, tmp_path / "hard.jsonl")
    message = "output hard.jsonl would overwrite input same.jsonl: give the output another name"
    refused(runner, ["same.jsonl", "-o", "hard.jsonl", *MANY], message)
    (tmp_path / "soft.parquet").symlink_to(data)
    message = "output soft.parquet would overwrite input same.jsonl: give the output another name"
    refused(runner, ["same.jsonl", "-o", "soft.parquet", *MANY], message)
    assert data.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "hard.jsonl",
        "same.jsonl",
        "soft.parquet",
    ]


def test_rejects_is_an_input_or_the_output(runner: CliRunner, data: Path, tmp_path: Path) -> None:
    before = data.read_bytes()
    other = tmp_path / "other.jsonl"
    other.write_bytes(b"{oops\n")
    args = [str(data), str(other), "-o", str(tmp_path / "v.parquet"), "--skip-invalid"]
    message = (
        f"rejects file {other} would overwrite input {other}: give the rejects file another name"
    )
    refused(runner, [*args, "--rejects", str(other), *MANY], message)
    assert other.read_bytes() == b"{oops\n"
    out = tmp_path / "v.parquet"
    message = (
        f"rejects file {out} is the same file as output {out}: give the rejects file another name"
    )
    refused(
        runner, [str(data), "-o", str(out), "--max-invalid", "3", "--rejects", str(out)], message
    )
    assert data.read_bytes() == before
    assert not out.exists()


def test_sidecars_and_summary_count_as_outputs(
    runner: CliRunner, data: Path, tmp_path: Path
) -> None:
    ids = tmp_path / "v.npy.ids"
    ids.write_bytes(data.read_bytes())
    out = tmp_path / "v.npy"
    message = f"ids file {ids} would overwrite input {ids}: give the ids file another name"
    refused(runner, [str(ids), "-o", str(out), *MANY], message)
    message = (
        f"summary file {out} is the same file as output {out}: give the summary file another name"
    )
    refused(runner, [str(data), "-o", str(out), "--summary", str(out)], message)
    meta = tmp_path / "v.npy.meta"
    message = (
        f"summary file {meta} is the same file as metadata file {meta}: "
        "give the summary file another name"
    )
    refused(runner, [str(data), "-o", str(out), "--summary", str(meta)], message)
    assert not out.exists()


def test_stdin_and_stdout_redirected_to_an_input(data: Path, tmp_path: Path) -> None:
    """`< x` and `>> x` are regular files: the same checks apply (cat refuses them too)."""
    before = data.read_bytes()
    with open(data, "ab") as appended:
        done = run(jsonvec("encode", data, "-o", "-", *MANY), stdout=appended)
    assert done.returncode == 2
    assert done.stderr.decode() == (
        f"Error: stdout would overwrite input {data}: give the output another name\n"
    )
    out = tmp_path / "v.parquet"
    out.write_bytes(before)
    with open(out, "rb") as stdin:
        done = run(jsonvec("encode", "-o", out, *MANY), stdin=stdin)
    assert done.returncode == 2
    assert done.stderr.decode() == (
        f"Error: output {out} would overwrite stdin: give the output another name\n"
    )
    assert data.read_bytes() == before == out.read_bytes()


def test_the_same_input_twice_is_fine(runner: CliRunner, data: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["encode", str(data), str(data), "-o", str(tmp_path / "v.npy")])
    assert result.exit_code == 0, result.output


def test_check_files_by_resolved_path_for_new_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    with pytest.raises(UsageError, match="is the same file as"):
        check_files(
            reads(["-"]), [Named("output", "sub/../x.parquet"), Named("rejects file", "x.parquet")]
        )
    written = [Named("output", "x.parquet"), Named("rejects file", "y.jsonl")]
    check_files(reads(["in.jsonl"]), written)


def test_sidecars_are_not_picked_up_by_a_json_glob(tmp_path: Path, samples: Path) -> None:
    """The help's `cat ... | encode -o vectors.npy` run twice: the same records each time."""
    (tmp_path / "a.jsonl").write_bytes((samples / "people.jsonl").read_bytes())
    command = f"cat *.jsonl *.json 2>/dev/null | {' '.join(jsonvec('encode'))} -o vectors.npy -q"
    for _ in range(3):
        done = run(["sh", "-c", command], cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "vectors.npy.ids").read_bytes().count(b"\n") == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.jsonl",
        "vectors.npy",
        "vectors.npy.ids",
        "vectors.npy.meta",
    ]


def test_the_help_example_with_rejects_runs_twice_the_same(
    runner: CliRunner, tmp_path: Path, samples: Path
) -> None:
    help_text = runner.invoke(cli, ["encode", "--help"]).stdout
    example = next(line.strip() for line in help_text.splitlines() if "| jsonvec encode" in line)
    assert example.startswith("cat exports/*.jsonl | jsonvec encode -o vectors.npy")
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "a.jsonl").write_bytes((samples / "broken.jsonl").read_bytes())
    command = example.replace("jsonvec encode", " ".join(jsonvec("encode")))
    for _ in range(2):
        done = run(["sh", "-c", command], cwd=tmp_path, stderr=subprocess.DEVNULL)
        assert done.returncode == 0
        assert (tmp_path / "vectors.npy.ids").read_bytes().count(b"\n") == 2
        assert (tmp_path / "bad.jsonl").read_bytes().count(b"\n") == 1
