"""Vectors files read back: Parquet pages read in place agree with Arrow, bit for bit."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jsonvec.storage.collection import open_vector_file
from jsonvec.storage.layout import CRC_KEY, METADATA_KEY
from jsonvec.storage.outputs import open_sink
from jsonvec.storage.parquet.pages import vector_pages
from jsonvec.storage.parquet.reader import ParquetVectors
from jsonvec.storage.vector_files import NpyVectors, VectorsError
from jsonvec.version import ENCODING

DIM = 16
META = {
    "format": 1,
    "dim": DIM,
    "dtype": "float32",
    "codebook": "00" * 8,
    "id_type": "int",
    "encoding": ENCODING,
}


def vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)


def write(path: Path, rows: int, batch: int, keep_records: bool = False) -> np.ndarray:
    """A file of ``rows`` vectors in row groups of ``batch``, as jsonvec writes it."""
    data = vectors(rows)
    sink = open_sink(str(path), DIM, META, "int", io.BytesIO(), keep_records)
    for start in range(0, rows, batch):
        part = data[start : start + batch]
        texts = [f'{{"n": {i}}}' for i in range(start, start + len(part))]
        sink.write(list(range(start, start + len(part))), part, texts if keep_records else None)
    sink.commit()
    return data


def read_all(file: ParquetVectors | NpyVectors, rows: int) -> np.ndarray:
    blocks = list(file.chunks(rows))
    starts = [start for start, _ in blocks]
    sizes = [len(block) for _, block in blocks]
    assert starts == [sum(sizes[:i]) for i in range(len(sizes))]
    assert all(size <= rows for size in sizes)
    return np.concatenate([b for _, b in blocks]) if blocks else np.zeros((0, DIM), np.float32)


@given(
    rows=st.integers(0, 300),
    batch=st.integers(1, 120),
    chunk=st.integers(1, 400),
    keep=st.booleans(),
)
def test_pages_read_in_place_give_the_written_vectors(
    tmp_path_factory: pytest.TempPathFactory, rows: int, batch: int, chunk: int, keep: bool
) -> None:
    path = tmp_path_factory.mktemp("pages") / "v.parquet"
    data = write(path, rows, batch, keep)
    file = ParquetVectors(path)
    assert file.crc32 == zlib.crc32(data.tobytes())
    got = read_all(file, chunk)
    assert got.tobytes() == data.tobytes()
    wanted = [r for r in (0, rows // 2, rows - 1) if rows > 0]
    assert file.vectors_at(wanted).tobytes() == data[wanted].tobytes()


def test_every_page_of_a_jsonvec_file_is_read_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v.parquet"
    write(path, 5000, 1024)
    metadata = pq.ParquetFile(path).metadata
    with open(path, "rb") as handle:
        raw = handle.read()
    for group in range(metadata.num_row_groups):
        column = metadata.row_group(group).column(1)
        pages = vector_pages(
            raw, column.data_page_offset, column.total_compressed_size, column.compression
        )
        assert pages is not None
        assert sum(n for _, n in pages) == metadata.row_group(group).num_rows * DIM


def foreign(path: Path, data: np.ndarray, crc: bool, **options: object) -> None:
    """The same columns written by plain pyarrow, with other options."""
    flat = pa.array(data.reshape(-1))
    column = pa.FixedSizeListArray.from_arrays(flat, DIM)
    table = pa.table({"id": pa.array(range(len(data)), pa.int64()), "vector": column})
    table = table.replace_schema_metadata({METADATA_KEY: orjson.dumps(META)})
    with pq.ParquetWriter(path, table.schema, **options) as writer:  # type: ignore[arg-type]
        writer.write_table(table, row_group_size=100)
        if crc:
            writer.add_key_value_metadata({CRC_KEY: str(zlib.crc32(data.tobytes()))})


@pytest.mark.parametrize(
    ("crc", "options"),
    [
        (True, {"compression": "snappy"}),
        (True, {"data_page_version": "2.0"}),
        (True, {"use_dictionary": True}),
        (False, {}),
    ],
)
def test_other_layouts_are_read_through_arrow(
    tmp_path: Path, crc: bool, options: dict[str, object]
) -> None:
    data = vectors(250, seed=1)
    path = tmp_path / "v.parquet"
    foreign(path, data, crc, **options)
    file = open_vector_file(path)
    assert read_all(file, 64).tobytes() == data.tobytes()  # type: ignore[arg-type]


def test_damage_in_a_page_header_is_caught(tmp_path: Path) -> None:
    """A page that no longer parses falls back to Arrow, which refuses it: one error."""
    path = tmp_path / "v.parquet"
    write(path, 300, 300)
    column = pq.ParquetFile(path).metadata.row_group(0).column(1)
    raw = bytearray(path.read_bytes())
    raw[column.data_page_offset + 3] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(VectorsError, match=r"v\.parquet: "):
        read_all(ParquetVectors(path), 64)


@given(st.binary(max_size=200), st.sampled_from(["UNCOMPRESSED", "SNAPPY"]))
def test_vector_pages_never_raise(data: bytes, codec: str) -> None:
    pages = vector_pages(data, 0, len(data), codec)
    assert pages is None or all(0 <= offset <= len(data) for offset, _ in pages)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
def test_rows_read_from_pages_are_the_rows_of_a_pass(
    tmp_path: Path, dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random rows of a Parquet file, read from its pages once it passed its checksum (rows
    that straddle two pages included), are the rows a full pass gives; before that pass the
    first read makes it."""
    from jsonvec.storage import verified  # noqa: PLC0415

    monkeypatch.setattr(verified, "SETTLED_SECONDS", 0.0)
    dim, rows = 300, 1100  # 1,200 bytes a float32 row: pages of 1 MB end inside a row
    meta = {"dim": dim, "dtype": dtype, "codebook": "test", "encoding": ENCODING}
    data = np.random.default_rng(3).standard_normal((rows, dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    sink = open_sink(str(tmp_path / "v.parquet"), dim, meta, "int")
    for start in range(0, rows, 1024):
        sink.write(list(range(start, min(rows, start + 1024))), data[start : start + 1024])
    sink.commit()
    file = ParquetVectors(tmp_path / "v.parquet")
    wanted = [1099, 0, 873, 874, 1023, 1024, 5, 873]
    seen = verified.identity(file.path)
    assert seen is not None
    assert not verified.known(seen, file.crc32 or 0)
    got = file.vectors_at(wanted)  # checks the file in full first
    assert verified.known(seen, file.crc32 or 0)
    whole = np.concatenate([block for _, block in file.chunks(1 << 16)])
    assert np.array_equal(got, whole[wanted])
    assert np.array_equal(file._rows_from_pages(wanted), whole[wanted])
