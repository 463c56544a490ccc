"""encode --append and --skip-existing: incremental runs into one file or a folder of parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from jsonvec import encode_batch
from jsonvec.cli import cli


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
    assert "left out 3 records already present" in stderr
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
    assert "int64 ids, this run writes string ids" in result.stderr


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
