"""The one output guard: no command writes over what it reads, or where it cannot write.

Outputs that would overwrite an input or each other are refused, by inode, not spelling; the
commands that write files are enumerated from the command line itself, so a new one is
tried too."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import orjson
import pytest
from click.testing import CliRunner

from jsonvec.cli import cli
from jsonvec.commands.common import InputPath, OutputPath
from jsonvec.errors import UsageError
from jsonvec.search.vectors import load
from jsonvec.storage.guard import Named, check_files, reads
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


# -- every command that writes a file: the one guard, enumerated from the command line itself


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> Iterator[
    tuple[tuple[str, ...], click.Command]
]:  # fmt: skip
    """Every command of the command line, with the words that run it."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def written_options() -> set[tuple[str, str]]:
    """(command, option) of every option that names a file the command writes."""
    found = set()
    for words, command in commands():
        for param in command.params:
            if isinstance(param.type, OutputPath):
                found.add((" ".join(words), param.opts[-1]))
    return found


def test_every_path_option_says_whether_it_is_read_or_written() -> None:
    """A path option or argument is an InputPath or an OutputPath, never a plain click.Path or
    a plain string named like an output: so no written path escapes the table below."""
    loose = []
    for words, command in commands():
        for param in command.params:
            named = {param.name, *param.opts} & {"output", "-o", "--output", "rejects", "summary"}
            if isinstance(param.type, InputPath | OutputPath):
                continue
            if isinstance(param.type, click.Path) or named:
                loose.append(f"{' '.join(words)} {param.opts[-1]}")
    assert loose == []


@pytest.fixture
def world(tmp_path: Path, samples: Path) -> dict[str, Path]:
    """Inputs of every kind a command reads, each with something worth keeping in it."""
    records = tmp_path / "data.jsonl"
    records.write_bytes((samples / "products.jsonl").read_bytes() * 20)
    npy = tmp_path / "v.npy"
    parquet = tmp_path / "v.parquet"
    for out in (npy, parquet):
        result = CliRunner().invoke(cli, ["encode", str(records), "-o", str(out), "-q"])
        assert result.exit_code == 0, result.output
    book = tmp_path / "book.jvc"
    assert CliRunner().invoke(cli, ["codebook", "new", "-o", str(book), "-q"]).exit_code == 0
    return {"records": records, "npy": npy, "ids": Path(f"{npy}.ids"),
            "meta": Path(f"{npy}.meta"), "parquet": parquet, "codebook": book}  # fmt: skip


#: for each (command, written option): the command with "{TARGET}" where that option's
#: path goes, and the files of `world` it reads (each is tried as the target)
WRITERS: dict[tuple[str, str], tuple[list[str], list[str]]] = {
    ("encode", "--output"): (
        ["encode", "{records}", "-o", "{TARGET}", "--codebook", "{codebook}", *MANY],
        ["records"],  # the codebook's name (.jvc) is no output format: refused as such
    ),
    ("encode", "--rejects"): (
        ["encode", "{records}", "-o", "{tmp}/out.parquet", "--skip-invalid", "--rejects",
         "{TARGET}", "--codebook", "{codebook}", *MANY],
        ["records", "codebook"],
    ),
    ("encode", "--summary"): (
        ["encode", "{records}", "-o", "{tmp}/out.parquet", "--summary", "{TARGET}",
         "--codebook", "{codebook}", *MANY],
        ["records", "codebook"],
    ),
    ("index build", "--output"): (
        ["index", "build", "{npy}", "{parquet}", "-o", "{TARGET}"],
        ["npy", "ids", "meta", "parquet"],
    ),
    ("codebook new", "--output"): (["codebook", "new", "-o", "{TARGET}"], []),
    ("codebook fit", "--output"): (
        ["codebook", "fit", "{records}", "-o", "{TARGET}", "--from", "{codebook}"],
        ["records", "codebook"],
    ),
}  # fmt: skip


def test_the_table_covers_every_written_option() -> None:
    assert set(WRITERS) == written_options()


def filled(args: list[str], world: dict[str, Path], target: str) -> list[str]:
    names = {key: str(path) for key, path in world.items()}
    names["tmp"] = str(world["records"].parent)
    return [arg.format(TARGET=target, **names) for arg in args]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("writer", sorted(WRITERS), ids=" ".join)
def test_no_written_file_is_a_file_read(
    runner: CliRunner, world: dict[str, Path], writer: tuple[str, str]
) -> None:
    """Each input (and each input's sidecar) given as the path written: refused with exit 2
    and one line, before anything is read or written."""
    args, inputs = WRITERS[writer]
    folder = world["records"].parent
    before = snapshot(folder)
    for key in inputs:
        result = runner.invoke(cli, filled(args, world, str(world[key])))
        assert result.exit_code == 2, (key, result.output)
        assert "would overwrite" in result.stderr
        assert str(world[key]) in result.stderr
        assert len(result.stderr.splitlines()) == 1
        assert snapshot(folder) == before


@pytest.mark.parametrize("writer", sorted(WRITERS), ids=" ".join)
def test_no_file_is_written_where_it_cannot_be(
    runner: CliRunner, world: dict[str, Path], writer: tuple[str, str]
) -> None:
    """A path in a folder that does not exist, or that is a folder, is refused (exit 2, one
    line) before anything is written: no part appended, no output, no summary."""
    args, _ = WRITERS[writer]
    folder = world["records"].parent
    before = snapshot(folder)
    for target, reason in [
        (f"{folder}/missing/x.jsonl", f"{folder}/missing/ does not exist"),
        (str(folder), "is a folder"),
    ]:
        result = runner.invoke(cli, filled(args, world, target))
        assert result.exit_code == 2, (target, result.output)
        assert reason in result.stderr
        assert len(result.stderr.splitlines()) == 1
        assert snapshot(folder) == before


@pytest.mark.parametrize("repeat", range(2))
def test_a_summary_that_cannot_be_written_stops_an_append_before_it_commits(
    runner: CliRunner, world: dict[str, Path], tmp_path: Path, repeat: int
) -> None:
    """The cron retry of a run whose summary failed must not append the records twice."""
    parts = tmp_path / "parts"
    args = ["encode", str(world["records"]), "-o", f"{parts}/", "--append", *MANY]
    missing = runner.invoke(cli, [*args, "--summary", str(tmp_path / "nope" / "s.json")])
    assert missing.exit_code == 2
    assert missing.stderr == (
        f"Error: summary file {tmp_path}/nope/s.json: cannot write there, {tmp_path}/nope/ "
        "does not exist\n"
    )
    assert not parts.exists()
    done = runner.invoke(cli, [*args, "--summary", str(tmp_path / "s.json")])
    assert done.exit_code == 0, done.output
    assert [p.name for p in parts.iterdir()] == ["part-000000.parquet"]
    assert orjson.loads((tmp_path / "s.json").read_bytes())["records"] == 160


def test_index_build_keeps_the_vectors(world: dict[str, Path]) -> None:
    """The reported case: `index build v.npy -o v.npy.ids`, and the Python call."""
    from jsonvec.search.ann import build_index  # noqa: PLC0415

    before = world["ids"].read_bytes()
    collection = load(world["npy"]).collection
    with pytest.raises(UsageError, match="would overwrite ids file"):
        build_index(collection, world["ids"])
    assert world["ids"].read_bytes() == before


def test_stdout_into_an_input_of_any_command(world: dict[str, Path], tmp_path: Path) -> None:
    """`>> vectors.jsonl` (a vectors file read and stdout appended to it) is refused too."""
    vectors = tmp_path / "v.jsonl"
    assert (
        CliRunner().invoke(cli, ["encode", str(world["records"]), "-o", str(vectors)]).exit_code
        == 0
    )
    before = vectors.read_bytes()
    for args in (["similar", vectors, "--id", "0"], ["probe", vectors, "--path", "price"],
                 ["codebook", "info", world["codebook"]]):  # fmt: skip
        target = world["codebook"] if args[0] == "codebook" else vectors
        with open(target, "ab") as appended:
            done = run(jsonvec(*args), stdout=appended)
        assert done.returncode == 2, done.stderr
        assert b"stdout would overwrite" in done.stderr
    assert vectors.read_bytes() == before
