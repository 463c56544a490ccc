from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jsonvec import OutputError
from jsonvec._utils.atomic import AtomicFile
from jsonvec.storage.layout import METADATA_KEY, sidecar_paths
from jsonvec.storage.outputs import open_sink, output_format

META = {"codebook": "abc", "dim": 8}


def vectors(n: int, dim: int = 8) -> np.ndarray:
    return np.arange(n * dim, dtype=np.float32).reshape(n, dim) / 7


def test_parquet_layout(tmp_path: Path) -> None:
    path = tmp_path / "v.parquet"
    sink = open_sink(str(path), 8, META, "string", io.BytesIO())
    sink.write(["a", "b"], vectors(2))
    sink.write(["c"], vectors(1))
    sink.commit()
    schema = pq.read_schema(path)
    assert schema.field("vector").type == pa.list_(
        pa.field("item", pa.float32(), nullable=False), 8
    )
    assert schema.field("id").type == pa.string()
    assert orjson.loads(schema.metadata[METADATA_KEY.encode()]) == META
    table = pq.read_table(path)
    assert table.column("id").to_pylist() == ["a", "b", "c"]
    got = np.stack(table.column("vector").to_numpy(zero_copy_only=False))
    assert np.array_equal(got, np.concatenate([vectors(2), vectors(1)]))
    assert pq.ParquetFile(path).num_row_groups == 2


def test_npy_layout(tmp_path: Path) -> None:
    path = tmp_path / "v.npy"
    sink = open_sink(str(path), 8, META, "int", io.BytesIO())
    sink.write([0, 1, 2], vectors(3))
    sink.commit()
    array = np.load(path, mmap_mode="r")
    assert array.dtype == np.float32
    assert np.array_equal(array, vectors(3))
    ids_path, meta_path = sidecar_paths(path)
    assert (ids_path.name, meta_path.name) == ("v.npy.ids", "v.npy.meta")
    assert ids_path.read_bytes() == b"0\n1\n2\n"
    crc = zlib.crc32(vectors(3).astype("<f4").tobytes())
    assert orjson.loads(meta_path.read_bytes()) == {**META, "count": 3, "crc32": crc}


def test_empty_npy_loads(tmp_path: Path) -> None:
    path = tmp_path / "v.npy"
    sink = open_sink(str(path), 8, META, "int", io.BytesIO())
    sink.commit()
    assert np.load(path).shape == (0, 8)


def test_jsonl_to_stream_round_trips_float32() -> None:
    stream = io.BytesIO()
    sink = open_sink("-", 8, META, "int", stream)
    sink.write([5], vectors(1))
    sink.commit()
    row = orjson.loads(stream.getvalue())
    assert row["id"] == 5
    assert np.array_equal(np.array(row["vector"], dtype=np.float32), vectors(1)[0])


@pytest.mark.parametrize("name", ["v.parquet", "v.npy", "v.jsonl"])
def test_abort_keeps_the_previous_output(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"previous")
    sink = open_sink(str(path), 8, META, "int", io.BytesIO())
    sink.write([0], vectors(1))
    sink.abort()
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_unknown_format() -> None:
    with pytest.raises(OutputError, match="cannot tell the output format"):
        output_format("vectors.csv")


def test_atomic_file_in_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write: No such file"):
        AtomicFile(tmp_path / "nope" / "x")


def test_atomic_file_commits_with_normal_permissions(tmp_path: Path) -> None:
    with AtomicFile(tmp_path / "x") as handle:
        handle.file.write(b"data")
    assert (tmp_path / "x").read_bytes() == b"data"
    assert (tmp_path / "x").stat().st_mode & 0o044  # readable by others, unlike mkstemp's 0600


def test_npy_sink_leaves_nothing_when_a_sidecar_cannot_be_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Path] = []

    def failing_second(path: Path) -> AtomicFile:
        opened.append(Path(path))
        if len(opened) == 2:
            raise OutputError(f"{path}: cannot write: No space left on device")
        return AtomicFile(path)

    monkeypatch.setattr("jsonvec.storage.npy.AtomicFile", failing_second)
    with pytest.raises(OutputError, match="No space left"):
        open_sink(str(tmp_path / "v.npy"), 8, META, "int", io.BytesIO())
    assert list(tmp_path.iterdir()) == []
