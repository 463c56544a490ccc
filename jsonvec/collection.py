"""Collections of stored vectors: the outputs of ``jsonvec encode``, read back for search.

A collection is one or more vector files (``.parquet``, or ``.npy`` with its sidecars), given
as files, folders or glob patterns. Their codebook fingerprints and dimensions must agree;
rows are numbered across the files in order. Vectors are read in chunks (``.npy`` memory-mapped,
Parquet by record batch), so a collection larger than memory can be searched.
"""

from __future__ import annotations

import glob
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from jsonvec.errors import JsonvecError
from jsonvec.writers import METADATA_KEY, RECORD_COLUMN, found_sidecar_paths

SUFFIXES = (".parquet", ".npy")


class VectorsError(JsonvecError):
    """A vectors file is missing, unreadable, damaged or inconsistent with the others."""


class NotFoundError(JsonvecError):
    """An id is not in the collection."""


@dataclass(frozen=True)
class VectorFile:
    """One vectors file and what its metadata says."""

    path: Path
    count: int
    dim: int
    fingerprint: str
    has_records: bool
    crc32: int | None = None  # of a .npy file's data (its metadata says), checked on a full read

    @property
    def is_parquet(self) -> bool:
        return self.path.suffix.lower() == ".parquet"


def resolve(patterns: Sequence[str]) -> list[Path]:
    """Files named by ``patterns``: files, folders (their vectors files) and globs, in order."""
    paths: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        elif path.exists():
            found = [path]
        else:
            found = [Path(p) for p in sorted(glob.glob(pattern))]
            found = [p for p in found if p.suffix.lower() in SUFFIXES]
        if not found:
            raise VectorsError(f"{pattern}: no such vectors file")
        paths.extend(found)
    return paths


def _metadata(path: Path, raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        raise VectorsError(f"{path}: not a jsonvec vectors file (no jsonvec metadata)")
    try:
        meta = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise VectorsError(f"{path}: jsonvec metadata is corrupted") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("codebook"), str):
        raise VectorsError(f"{path}: jsonvec metadata is corrupted")
    return meta


def open_vector_file(path: Path) -> VectorFile:
    """Read the metadata of one vectors file (not its vectors)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise VectorsError(f"{path}: not a vectors file (expected .parquet or .npy)")
    try:
        if suffix == ".parquet":
            parquet = parquet_file(path)
            schema = parquet.schema_arrow
            meta = _metadata(path, (schema.metadata or {}).get(METADATA_KEY.encode()))
            count, has_records = parquet.metadata.num_rows, RECORD_COLUMN in schema.names
        else:
            _, meta_path = found_sidecar_paths(path)
            meta = _metadata(path, meta_path.read_bytes() if meta_path.exists() else None)
            count, has_records = int(meta.get("count", -1)), False
            shape = np.load(path, mmap_mode="r").shape
            if shape != (count, meta.get("dim")):
                raise VectorsError(
                    f"{path}: holds {shape[0]} rows of dim {shape[-1]}, but its metadata says "
                    f"{count} of dim {meta.get('dim')}"
                )
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise VectorsError(f"{path}: cannot read vectors: {exc}") from exc
    crc = meta.get("crc32")
    return VectorFile(
        path,
        count,
        int(meta["dim"]),
        meta["codebook"],
        has_records,
        crc if isinstance(crc, int) else None,
    )


def parquet_file(path: Path) -> pq.ParquetFile:
    """A Parquet file whose page checksums are verified as it is read."""
    return pq.ParquetFile(path, page_checksum_verification=True)


class Collection:
    """Vectors files searched as one, rows numbered across files in order.

    Parameters
    ----------
    files : list of VectorFile
        Must share one codebook fingerprint and dimension.
    """

    def __init__(self, files: list[VectorFile]) -> None:
        if not files:
            raise VectorsError("no vectors files given")
        first = files[0]
        for other in files[1:]:
            if other.fingerprint != first.fingerprint:
                raise VectorsError(
                    f"{other.path} was encoded with codebook {other.fingerprint}, "
                    f"but {first.path} with codebook {first.fingerprint}: they cannot be mixed"
                )
            if other.dim != first.dim:
                raise VectorsError(
                    f"{other.path} has dim {other.dim}, but {first.path} has dim {first.dim}"
                )
        self.files = files
        self.dim = first.dim
        self.fingerprint = first.fingerprint
        self.offsets = np.cumsum([0] + [f.count for f in files])
        self.count = int(self.offsets[-1])

    @classmethod
    def open(cls, patterns: Sequence[str]) -> Collection:
        """Open the vectors files named by ``patterns`` (see :func:`resolve`)."""
        return cls([open_vector_file(p) for p in resolve(patterns)])

    @property
    def has_records(self) -> bool:
        """True when every file keeps the original records."""
        return all(f.has_records for f in self.files)

    def chunks(self, rows: int = 1 << 16) -> Iterator[tuple[int, NDArray[np.float32]]]:
        """``(first row, block)`` pairs covering the collection; block is (m, dim) float32."""
        for file, offset in zip(self.files, self.offsets, strict=False):
            for start, block in _file_chunks(file, rows):
                yield int(offset) + start, block

    def vector(self, row: int) -> NDArray[np.float32]:
        """The stored vector of a row: shape (dim,), float32."""
        file, local = self._locate(row)
        if file.is_parquet:
            return np.asarray(_parquet_rows(file, "vector", [local])[0], dtype=np.float32)
        return np.array(np.load(file.path, mmap_mode="r")[local], dtype=np.float32)

    def ids(self, rows: Sequence[int]) -> list[Any]:
        """The ids of ``rows`` (global row numbers), in the same order."""
        return self._values(rows, "id")

    def records(self, rows: Sequence[int]) -> list[Any]:
        """The original records of ``rows`` (parsed JSON), or None where none was kept."""
        return self._values(rows, RECORD_COLUMN)

    def _values(self, rows: Sequence[int], column: str) -> list[Any]:
        found: dict[int, Any] = {}
        by_file: dict[int, list[int]] = {}
        for row in rows:
            by_file.setdefault(self._file_index(row), []).append(row)
        for index, wanted in by_file.items():
            file, offset = self.files[index], int(self.offsets[index])
            local = [row - offset for row in wanted]
            if column == RECORD_COLUMN:
                values = (
                    [orjson.loads(v) for v in _parquet_rows(file, column, local)]
                    if file.has_records
                    else [None] * len(local)
                )
            elif file.is_parquet:
                values = _parquet_rows(file, column, local)
            else:
                values = _npy_ids(file, local)
            found.update(zip(wanted, values, strict=True))
        return [found[row] for row in rows]

    def find(self, wanted: str) -> int:
        """The first row whose id is ``wanted`` (an integer id matches its decimal text)."""
        for index, file in enumerate(self.files):
            for local, rid in enumerate(all_ids(file)):
                if str(rid) == wanted:
                    return int(self.offsets[index]) + local
        raise NotFoundError(f"id {wanted!r} is not in the vectors")

    def _file_index(self, row: int) -> int:
        if not 0 <= row < self.count:
            raise IndexError(row)
        return int(np.searchsorted(self.offsets, row, side="right")) - 1

    def _locate(self, row: int) -> tuple[VectorFile, int]:
        index = self._file_index(row)
        return self.files[index], row - int(self.offsets[index])


def _file_chunks(file: VectorFile, rows: int) -> Iterator[tuple[int, NDArray[np.float32]]]:
    try:
        if file.is_parquet:
            start = 0
            parquet = parquet_file(file.path)
            for batch in parquet.iter_batches(batch_size=rows, columns=["vector"]):
                block = _vectors_of(batch.column(0), file.dim)
                yield start, block
                start += len(block)
        else:
            array = np.load(file.path, mmap_mode="r")
            crc = 0
            for start in range(0, file.count, rows):
                block = np.ascontiguousarray(array[start : start + rows], dtype="<f4")
                crc = zlib.crc32(block.data, crc)
                if start + rows >= file.count and file.crc32 not in (None, crc):
                    raise VectorsError(f"{file.path}: vectors are corrupted (checksum mismatch)")
                yield start, block
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise VectorsError(f"{file.path}: cannot read vectors: {exc}") from exc


def _vectors_of(column: Any, dim: int) -> NDArray[np.float32]:
    flat = column.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.float32).reshape(-1, dim)


def _parquet_rows(file: VectorFile, column: str, local: Sequence[int]) -> list[Any]:
    """Values of ``column`` at ``local`` rows, reading only the row groups that hold them."""
    parquet = parquet_file(file.path)
    bounds = np.cumsum(
        [0] + [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)]
    )
    out: dict[int, Any] = {}
    groups: dict[int, list[int]] = {}
    for row in local:
        groups.setdefault(int(np.searchsorted(bounds, row, side="right")) - 1, []).append(row)
    for group, members in groups.items():
        values = parquet.read_row_group(group, columns=[column]).column(0)
        for row in members:
            item = values[row - int(bounds[group])]
            out[row] = (
                np.asarray(item.values.to_numpy(zero_copy_only=False), dtype=np.float32)
                if column == "vector"
                else item.as_py()
            )
    return [out[row] for row in local]


def _npy_ids(file: VectorFile, local: Sequence[int]) -> list[Any]:
    wanted = set(local)
    found: dict[int, Any] = {}
    for row, rid in enumerate(all_ids(file)):
        if row in wanted:
            found[row] = rid
            if len(found) == len(wanted):
                break
    return [found[row] for row in local]


def all_ids(file: VectorFile) -> Iterator[Any]:
    """Every id of a file, in row order, streamed."""
    if file.is_parquet:
        parquet = parquet_file(file.path)
        for batch in parquet.iter_batches(batch_size=1 << 16, columns=["id"]):
            yield from batch.column(0).to_pylist()
        return
    ids_path, _ = found_sidecar_paths(file.path)
    try:
        with open(ids_path, "rb") as handle:
            for line in handle:
                yield orjson.loads(line)
    except (OSError, orjson.JSONDecodeError) as exc:
        raise VectorsError(f"{ids_path}: cannot read ids: {exc}") from exc


def describe(files: Sequence[VectorFile]) -> list[dict[str, Any]]:
    """Size and modification time of each file, for detecting a stale index."""
    result = []
    for file in files:
        stat = os.stat(file.path)
        result.append(
            {
                "path": str(file.path.resolve()),
                "count": file.count,
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
            }
        )
    return result
