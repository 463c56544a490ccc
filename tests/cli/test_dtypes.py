"""``encode --dtype``: float16 and int8 vectors through every step of the nightly job (encode,
append, index, update, info, similar), in both file formats, read back as float32."""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

import jsonvec
from jsonvec.cli import cli
from jsonvec.storage import verified
from jsonvec.storage.parquet.reader import ParquetVectors
from tests.helpers import jsonvec as command
from tests.helpers import run

DTYPES = ["float32", "float16", "int8"]


def invoke(*args: str | Path) -> tuple[int, str, str]:
    done = CliRunner().invoke(cli, [str(a) for a in args])
    return done.exit_code, done.stdout, done.stderr


def ok(*args: str | Path) -> str:
    code, out, err = invoke(*args)
    assert code == 0, err
    return out


def lines(out: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in out.splitlines()]


@pytest.fixture
def days(tmp_path: Path) -> tuple[Path, Path]:
    """Two nights of records: 150 and 90, of a few kinds, with ids."""
    cities = ["Paris", "Lyon", "Osaka", "Lima", "Oslo", "Quito"]

    def record(i: int) -> bytes:
        return orjson.dumps({
            "id": f"r{i}", "city": cities[i % 6], "age": 20 + i % 47,
            "tags": [f"t{i % 5}", f"u{i % 3}"], "name": f"name {i % 11} {i % 13}",
        })  # fmt: skip

    first, second = tmp_path / "day1.jsonl", tmp_path / "day2.jsonl"
    first.write_bytes(b"\n".join(record(i) for i in range(150)) + b"\n")
    second.write_bytes(b"\n".join(record(i) for i in range(150, 240)) + b"\n")
    return first, second


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_through_the_nightly_job(
    tmp_path: Path, days: tuple[Path, Path], dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verified, "SETTLED_SECONDS", 0.0)
    folder, index = tmp_path / "v", tmp_path / "v" / "index.usearch"
    encode = ["--append", "--id-field", "id", "--dtype", dtype, "--batch-size", "16", "-q"]
    ok("encode", days[0], "-o", f"{folder}/", *encode)
    ok("index", "build", folder, "-o", index, "-q")
    ok("encode", days[1], "-o", f"{folder}/", *encode)
    (summary,) = lines(ok("info", folder, "--index", index, "--json"))
    assert summary["index"]["state"] == "behind"
    ok("index", "update", index, folder, "-q")
    (summary,) = lines(ok("info", folder, "--index", index, "--json", "--check"))
    assert (summary["rows"], summary["dtype"], summary["parts"]) == (240, dtype, 2)
    assert (summary["checksum"], summary["index"]["state"]) == ("verified", "current")

    reference = tmp_path / "f32.parquet"
    ok("encode", *days, "-o", reference, "--id-field", "id", "-q")
    want = [h["id"] for h in lines(ok("similar", reference, "--id", "r7", "-n", "5"))]
    exact = [h["id"] for h in lines(ok("similar", folder, "--id", "r7", "-n", "5"))]
    ann = [h["id"] for h in lines(ok("similar", folder, "--id", "r7", "-n", "5", "--index", index))]
    assert exact[0] == want[0]
    assert len(set(exact) & set(want)) >= 4
    assert len(set(ann) & set(exact)) >= 4

    stored = jsonvec.load(folder).vectors
    full = jsonvec.load(reference).vectors
    lengths = np.linalg.norm(stored, axis=1)
    assert np.abs(lengths - 1).max() < {"float32": 1e-6, "float16": 3e-4, "int8": 1e-6}[dtype]
    cosines = np.einsum("ij,ij->i", stored, full) / lengths
    assert cosines.min() > {"float32": 1 - 1e-6, "float16": 0.999999, "int8": 0.9995}[dtype]


@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_npy_is_the_same_bytes_for_any_worker_count(
    tmp_path: Path, days: tuple[Path, Path], dtype: str
) -> None:
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}.npy"
        done = run(command("encode", *days, "-o", out, "--dtype", dtype, "--jobs", jobs,
                           "--batch-size", "16", "-q"))  # fmt: skip
        assert done.returncode == 0, done.stderr
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    raw = np.load(outs[0])
    assert raw.dtype == {"float16": np.float16, "int8": np.int8}[dtype]
    assert raw.shape == (240, 1024)
    meta = orjson.loads(Path(f"{outs[0]}.meta").read_bytes())
    assert (meta["dtype"], meta["count"]) == (dtype, 240)
    sizes = outs[0].stat().st_size - 128
    assert sizes == 240 * 1024 * {"float16": 2, "int8": 1}[dtype]


@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_parquet_pages_are_read_in_place(
    tmp_path: Path, days: tuple[Path, Path], dtype: str
) -> None:
    """The reduced columns are in the page layout read straight from a memory map, and what
    is read that way is what Arrow reads."""
    out = tmp_path / "v.parquet"
    ok("encode", days[0], "-o", out, "--dtype", dtype, "--batch-size", "40", "-q")
    file = ParquetVectors(out)
    with open(out, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        view = memoryview(m)
        pages = [file._group_pages(view, g) for g in range(file.metadata.num_row_groups)]
        assert all(p is not None for p in pages)
        in_place = np.concatenate([np.concatenate(p) for p in pages if p is not None])
        del pages
        view.release()
    parquet = file._open()
    arrow = np.concatenate(
        [file._stored_group(parquet, g).reshape(-1) for g in range(file.metadata.num_row_groups)]
    )
    assert in_place.tobytes() == arrow.tobytes()
    assert file.metadata.num_row_groups == 4


def test_an_append_of_another_dtype_is_refused(tmp_path: Path, days: tuple[Path, Path]) -> None:
    out = tmp_path / "v.parquet"
    ok("encode", days[0], "-o", out, "--dtype", "float16", "-q")
    before = out.read_bytes()
    code, _, err = invoke("encode", days[1], "-o", out, "--append", "--dtype", "int8")
    assert code == 1
    assert err == (
        f"Error: {out} stores float16 vectors, this run writes int8: append with --dtype float16\n"
    )
    assert out.read_bytes() == before


@pytest.mark.parametrize("target", ["out.jsonl", "-"])
def test_reduced_types_need_a_binary_output(
    tmp_path: Path, days: tuple[Path, Path], target: str
) -> None:
    out = target if target == "-" else str(tmp_path / target)
    code, stdout, err = invoke("encode", days[0], "-o", out, "--dtype", "int8")
    assert code == 2
    assert "--dtype int8 needs a .parquet or .npy output" in err
    assert stdout == ""
    assert not (tmp_path / "out.jsonl").exists()


def test_an_unknown_dtype_is_a_usage_error(tmp_path: Path, days: tuple[Path, Path]) -> None:
    code, _, err = invoke("encode", days[0], "-o", tmp_path / "v.npy", "--dtype", "float64")
    assert code == 2
    assert "'float64' is not one of 'float32', 'float16', 'int8'" in err
    with pytest.raises(jsonvec.ArgumentError, match="dtype must be 'float32' or 'float16' or"):
        jsonvec.encode_file(days[0], tmp_path / "v.npy", dtype="double")


@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_damage_to_reduced_vectors_is_found(
    tmp_path: Path, days: tuple[Path, Path], dtype: str
) -> None:
    out = tmp_path / "v.npy"
    ok("encode", days[0], "-o", out, "--dtype", dtype, "-q")
    data = bytearray(out.read_bytes())
    data[128 + 5000] ^= 0x01
    out.write_bytes(bytes(data))
    code, stdout, err = invoke("similar", out, '{"city": "Lima"}')
    assert (code, stdout) == (1, "")
    assert err == f"Error: {out}: vectors are corrupted (checksum mismatch)\n"


def test_a_type_the_metadata_does_not_say_is_refused(
    tmp_path: Path, days: tuple[Path, Path]
) -> None:
    out = tmp_path / "v.npy"
    ok("encode", days[0], "-o", out, "--dtype", "int8", "-q")
    meta = Path(f"{out}.meta")
    meta.write_bytes(meta.read_bytes().replace(b'"int8"', b'"float16"'))
    code, _, err = invoke("similar", out, '{"city": "Lima"}')
    assert code == 1
    assert err == f"Error: {out}: holds int8 values, but its metadata says float16\n"
