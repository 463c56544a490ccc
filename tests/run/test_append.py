"""encode --append and --skip-existing: incremental runs into one file or a folder of parts."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from jsonvec import encode_batch
from jsonvec._utils.atomic import AtomicFile
from jsonvec.cli import cli
from tests.helpers import TIMEOUT, jsonvec, spawned
from tests.storage.test_collection import say_encoding


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def feed(tmp_path: Path, name: str, ids: list[int]) -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(orjson.dumps({"id": i, "v": f"value {i}"}) + b"\n" for i in ids))
    return path


def read(path: Path) -> tuple[list[object], np.ndarray]:
    table = pq.read_table(path)
    return table.column("id").to_pylist(), np.stack(table.column("vector").to_numpy(False))


def expected(ids: list[int]) -> np.ndarray:
    return encode_batch([{"id": i, "v": f"value {i}"} for i in ids])


def run(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, ["encode", *args])
    assert result.exit_code == 0, result.output
    return result.stderr


def test_append_to_a_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    for name, ids in (("a.jsonl", [1, 2]), ("b.jsonl", [3])):
        run(runner, str(feed(tmp_path, name, ids)), "-o", str(out), "--append", "--id-field", "id")
    ids, vectors = read(out)
    assert ids == ["1", "2", "3"]
    assert np.array_equal(vectors, expected([1, 2, 3]))


def test_append_to_a_folder_adds_parts(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "daily"
    for name, ids in (("a.jsonl", [1, 2]), ("b.jsonl", [3, 4])):
        run(runner, str(feed(tmp_path, name, ids)), "-o", f"{out}/", "--append", "--id-field", "id")
    assert sorted(p.name for p in out.iterdir()) == ["part-000000.parquet", "part-000001.parquet"]
    assert read(out / "part-000001.parquet")[0] == ["3", "4"]
    result = runner.invoke(cli, ["similar", str(out), '{"v": "value 4"}', "-n", "1", "--plain"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].split()[2] == "4"  # rank, score, id


def test_skip_existing(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    args = ["-o", str(out), "--append", "--skip-existing", "--id-field", "id"]
    run(runner, str(feed(tmp_path, "a.jsonl", [1, 2])), *args)
    stderr = run(runner, str(feed(tmp_path, "b.jsonl", [2, 3, 3, 1, 4])), *args)
    assert f"left out 2 records already in {out}; " in stderr
    assert "left out 1 record whose id came earlier in this run" in stderr
    ids, vectors = read(out)
    assert ids == ["1", "2", "3", "4"]
    assert np.array_equal(vectors, expected([1, 2, 3, 4]))


def test_append_refuses_another_codebook(runner: CliRunner, tmp_path: Path) -> None:
    out, book = tmp_path / "v.parquet", tmp_path / "cb"
    run(runner, str(feed(tmp_path, "a.jsonl", [1])), "-o", str(out), "--id-field", "id")
    before = out.read_bytes()
    assert runner.invoke(cli, ["codebook", "new", "-o", str(book), "--seed", "5"]).exit_code == 0
    args = ["-o", str(out), "--append", "--id-field", "id", "--codebook", str(book)]
    result = runner.invoke(cli, ["encode", str(feed(tmp_path, "b.jsonl", [2])), *args])
    assert result.exit_code == 1
    assert "vectors of two codebooks cannot be mixed" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert out.read_bytes() == before


def test_append_refuses_vectors_of_other_encoding_rules(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    run(runner, str(feed(tmp_path, "a.jsonl", [1])), "-o", str(out), "--id-field", "id")
    say_encoding(out, 1)
    before = out.read_bytes()
    args = ["-o", str(out), "--append", "--id-field", "id"]
    result = runner.invoke(cli, ["encode", str(feed(tmp_path, "b.jsonl", [2])), *args])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot append: {out}: encoded by jsonvec 0.1 rules (encoding 1), which give "
        "other vectors than this jsonvec's (encoding 3): re-encode the records\n"
    )
    assert out.read_bytes() == before


def test_append_refuses_other_ids(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    run(runner, str(feed(tmp_path, "a.jsonl", [1])), "-o", str(out))
    result = runner.invoke(
        cli,
        [
            "encode",
            str(feed(tmp_path, "b.jsonl", [2])),
            "-o",
            str(out),
            "--append",
            "--id-field",
            "id",
        ],
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {out} holds record positions as ids, this run writes ids from --id-field "
        "(use the same --id-field setting)\n"
    )


@pytest.mark.parametrize(
    "args",
    [["--skip-existing"], ["--skip-existing", "--append"], ["--append", "-o", "x.npy"]],
)
def test_append_usage(runner: CliRunner, tmp_path: Path, args: list[str]) -> None:
    data = feed(tmp_path, "a.jsonl", [1])
    full = [str(data), *(args if "-o" in args else ["-o", str(tmp_path / "v.parquet"), *args])]
    result = runner.invoke(cli, ["encode", *full])
    assert result.exit_code in (1, 2)
    assert "--append" in result.stderr or "--skip-existing" in result.stderr


def test_positional_ids_continue_from_the_largest_there(runner: CliRunner, tmp_path: Path) -> None:
    """Without --id-field an append numbers on: ids stay unique, also after skipped lines."""
    out = tmp_path / "v.parquet"
    first = tmp_path / "first.jsonl"
    first.write_bytes(b'{"v": 0}\n{oops\n{"v": 2}\n')
    run(runner, str(first), "-o", str(out), "--append", "--skip-invalid")
    run(runner, str(feed(tmp_path, "b.jsonl", [3, 4])), "-o", str(out), "--append")
    assert read(out)[0] == [0, 2, 3, 4]
    folder = tmp_path / "parts"
    for name in ("a.jsonl", "b.jsonl"):
        run(runner, str(feed(tmp_path, name, [7, 8, 9])), "-o", f"{folder}/", "--append")
    assert read(folder / "part-000000.parquet")[0] == [0, 1, 2]
    assert read(folder / "part-000001.parquet")[0] == [3, 4, 5]


@pytest.mark.parametrize("repeat", range(2))
def test_concurrent_appenders_take_turns(tmp_path: Path, repeat: int) -> None:
    """Two runs appending to one folder at once: two parts, every positional id once."""
    source = feed(tmp_path, "a.jsonl", list(range(300)))
    folder = tmp_path / "parts"
    command = jsonvec("encode", source, "-o", f"{folder}/", "--append", "--batch-size", "16")
    with contextlib.ExitStack() as stack:
        procs = [
            stack.enter_context(spawned([*command, "--jobs", jobs], stderr=subprocess.PIPE))
            for jobs in ("2", "1")
        ]
        errors = [proc.communicate(timeout=TIMEOUT)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], errors
    parts = sorted(p.name for p in folder.iterdir())
    assert parts == ["part-000000.parquet", "part-000001.parquet"]
    ids = [i for part in parts for i in read(folder / part)[0]]
    assert sorted(ids) == list(range(600))


def test_a_new_part_never_replaces_one_that_appeared(tmp_path: Path) -> None:
    """The part's name is taken atomically: a name taken meanwhile is skipped, not replaced."""
    (tmp_path / "part-000003.parquet").write_bytes(b"another run's part")
    names = (tmp_path / f"part-{n:06d}.parquet" for n in range(3, 9))
    with AtomicFile(tmp_path / "part-000003.parquet") as handle:
        handle.file.write(b"mine")
        taken = handle.commit_new(names)
    assert taken.name == "part-000004.parquet"
    assert taken.read_bytes() == b"mine"
    assert (tmp_path / "part-000003.parquet").read_bytes() == b"another run's part"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "part-000003.parquet",
        "part-000004.parquet",
    ]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_rerun_with_nothing_new_writes_nothing(
    runner: CliRunner, tmp_path: Path, jobs: str
) -> None:
    folder, summary = tmp_path / "parts", tmp_path / "run.json"
    source = feed(tmp_path, "a.jsonl", list(range(100)))
    args = [str(source), "-o", f"{folder}/", "--append", "--skip-existing", "--id-field", "id"]
    args += ["--batch-size", "16", "--jobs", jobs, "--summary", str(summary)]
    run(runner, *args)
    listing = sorted(p.name for p in folder.iterdir())
    assert listing == ["part-000000.parquet"]
    before = (folder / listing[0]).read_bytes()
    stderr = run(runner, *args)
    assert stderr.startswith("jsonvec: no new records in ")
    assert f"wrote nothing, {folder}/ is unchanged; left out 100 records already in" in stderr
    assert sorted(p.name for p in folder.iterdir()) == listing
    assert (folder / listing[0]).read_bytes() == before
    document = orjson.loads(summary.read_bytes())
    assert document["status"] == 0
    assert (document["records"], document["existing"], document["skipped"]) == (0, 100, 100)
    assert document["output"] is None


def test_summary_of_a_run(runner: CliRunner, tmp_path: Path, samples: Path) -> None:
    summary, out = tmp_path / "run.json", tmp_path / "v.parquet"
    broken = samples / "broken.jsonl"
    args = [str(broken), "-o", str(out), "--summary", str(summary), "-q"]
    result = runner.invoke(cli, ["encode", *args, "--skip-invalid"])
    assert result.exit_code == 0
    document = orjson.loads(summary.read_bytes())
    seconds = document.pop("seconds")
    assert isinstance(seconds, float)
    assert document == {
        "status": 0,
        "error": None,
        "records": 2,
        "skipped": 1,
        "invalid": 1,
        "existing": 0,
        "repeated": 0,
        "blank": 0,
        "output": str(out),
        "rejects": None,
    }
    result = runner.invoke(cli, ["encode", *args])
    assert result.exit_code == 1
    document = orjson.loads(summary.read_bytes())
    assert document["status"] == 1
    assert document["error"].startswith(f"{broken}:2: invalid JSON")
    assert (document["records"], document["output"]) == (0, None)


def test_an_append_waits_for_the_run_holding_the_folder(tmp_path: Path) -> None:
    """Another run holds the folder's lock: this one says so, waits, then appends after it."""
    folder = tmp_path / "parts"
    folder.mkdir()
    source = feed(tmp_path, "a.jsonl", [1, 2, 3])
    command = jsonvec("encode", source, "-o", f"{folder}/", "--append", "--jobs", "2")
    held = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        with spawned(command, stderr=subprocess.PIPE) as proc:
            time.sleep(2)
            assert proc.poll() is None  # still waiting
            assert list(folder.iterdir()) == []
            fcntl.flock(held, fcntl.LOCK_UN)
            _, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        os.close(held)
    assert proc.returncode == 0
    assert stderr.decode().startswith(f"jsonvec: waiting for another run appending to {folder}/\n")
    assert [p.name for p in folder.iterdir()] == ["part-000000.parquet"]
