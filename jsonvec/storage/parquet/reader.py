"""Parquet vectors files read back, in bounded memory whatever their size.

Vectors are read in blocks of a few MB straight from the file's pages through a memory map,
where the pages are in the layout jsonvec writes (:mod:`jsonvec.storage.parquet.pages`), and through
Arrow a row group at a time otherwise; ids and records come from only the row groups that
hold the rows asked for. A full pass checks the CRC-32 of the vectors stored in the file's
metadata (``jsonvec.crc32``); files without it (jsonvec 0.2) are read with Arrow's page
checksums instead.
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from jsonvec.errors import VectorsError
from jsonvec.storage import dtypes
from jsonvec.storage.dtypes import NUMPY, UNPACK_ROWS
from jsonvec.storage.layout import CRC_KEY, ID_COLUMN, METADATA_KEY, RECORD_COLUMN, VECTOR_COLUMN
from jsonvec.storage.parquet.arrays import stored_rows, type_dtype
from jsonvec.storage.parquet.pages import vector_pages
from jsonvec.storage.vector_files import Block, VectorFile, matches, read_metadata, reading

#: rows gathered from pages into one block: 256 (1 MB of float32 at dim 1024) stay in a core's
#: cache between the copy and the search that reads them
_PAGE_BLOCK_ROWS = UNPACK_ROWS


class ParquetVectors(VectorFile):
    """A Parquet file written by ``jsonvec encode``."""

    def __init__(self, path: Path) -> None:
        with reading(path):
            parquet = pq.ParquetFile(path)
            schema = parquet.schema_arrow
            meta = read_metadata(path, (schema.metadata or {}).get(METADATA_KEY.encode()))
            self.metadata = parquet.metadata
            crc = (parquet.metadata.metadata or {}).get(CRC_KEY.encode())
        if ID_COLUMN not in schema.names or VECTOR_COLUMN not in schema.names:
            raise VectorsError(f"{path}: not a jsonvec vectors file (no id or vector column)")
        self._init(path, meta, self.metadata.num_rows)
        if type_dtype(schema.field(VECTOR_COLUMN).type) != (self.dtype, self.dim):
            raise VectorsError(
                f"{path}: its vector column is {schema.field(VECTOR_COLUMN).type}, but its "
                f"metadata says {self.dtype} vectors of dim {self.dim}"
            )
        self.has_records = RECORD_COLUMN in schema.names
        self.id_type = "string" if pa.types.is_string(schema.field(ID_COLUMN).type) else "int"
        self.crc32 = int(crc) if crc is not None and crc.isdigit() else None
        self._bounds = np.cumsum(
            [0] + [self.metadata.row_group(i).num_rows for i in range(self.metadata.num_row_groups)]
        )
        self._vector_column = schema.get_field_index(VECTOR_COLUMN)
        leaf = self.metadata.schema.column(self._vector_column)
        self._level_runs = (leaf.max_repetition_level > 0) + (leaf.max_definition_level > 0)

    def _open(self) -> pq.ParquetFile:
        # page checksums are checked where no checksum of the vectors is stored (0.2 files);
        # the vectors' own CRC covers them otherwise, and pages of ids and records are checked
        return pq.ParquetFile(self.path, page_checksum_verification=True)

    def chunks(self, rows: int) -> Iterator[tuple[int, Block]]:
        with reading(self.path):
            yield from self._checked(self._blocks(rows))

    def _blocks(self, rows: int) -> Iterator[tuple[int, NDArray[Any]]]:
        """Blocks of ``rows`` stored rows (fewer at the end), each a copy the caller may keep."""
        start = 0
        for block in _rechunk(self._pieces(), min(rows, _PAGE_BLOCK_ROWS), self.dim):
            yield start, block
            start += len(block)

    def _pieces(self) -> Iterator[NDArray[Any]]:
        """The vector column's stored values, a page (or a row group) at a time, in row order."""
        if self.crc32 is None:  # no checksum of the vectors: Arrow reads and checks pages
            parquet = self._open()
            for group in range(self.metadata.num_row_groups):
                yield self._stored_group(parquet, group).reshape(-1)
            return
        if self.count == 0:
            return
        with open(self.path, "rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            try:
                data = memoryview(mapped)
                for group in range(self.metadata.num_row_groups):
                    pages = self._group_pages(data, group)
                    if pages is None:  # not the layout jsonvec writes: Arrow reads this group
                        pages = [self._stored_group(self._open(), group).reshape(-1)]
                    yield from pages
                    del pages
                data.release()
            finally:
                with contextlib.suppress(BufferError):  # a view still held keeps it open
                    mapped.close()

    def _group_pages(self, data: memoryview, group: int) -> list[NDArray[Any]] | None:
        """Views of the stored values of one row group's pages, or None if it cannot be."""
        column = self.metadata.row_group(group).column(self._vector_column)
        kind = NUMPY[self.dtype]
        # a value of the column: a float, or (int8) a row of dim bytes
        per_value = self.dim if self.dtype == "int8" else 1
        pages = vector_pages(
            data, column.data_page_offset, column.total_compressed_size, column.compression,
            kind.itemsize * per_value, self._level_runs,
        )  # fmt: skip
        expected = self.metadata.row_group(group).num_rows * self.dim
        if pages is None or sum(count * per_value for _, count in pages) != expected:
            return None
        return [np.frombuffer(data, dtype=kind, count=n * per_value, offset=o) for o, n in pages]

    def _stored_group(self, parquet: pq.ParquetFile, group: int) -> NDArray[Any]:
        column = parquet.read_row_group(group, columns=[VECTOR_COLUMN]).column(0)
        return stored_rows(column, self.dim)

    def ids(self) -> Iterator[Any]:
        with reading(self.path, "ids"):
            parquet = self._open()
            for group in range(self.metadata.num_row_groups):
                yield from parquet.read_row_group(group, columns=[ID_COLUMN]).column(0).to_pylist()

    def ids_at(self, local: Sequence[int]) -> list[Any]:
        return self._column_at(ID_COLUMN, local)

    def records_at(self, local: Sequence[int]) -> list[Any]:
        if not self.has_records:
            return [None] * len(local)
        with reading(self.path, "records"):
            return [orjson.loads(text) for text in self._column_at(RECORD_COLUMN, local)]

    def all_records(self) -> Iterator[Any]:
        if not self.has_records:
            yield from super().all_records()
            return
        with reading(self.path, "records"):
            parquet = self._open()
            for group in range(self.metadata.num_row_groups):
                texts = parquet.read_row_group(group, columns=[RECORD_COLUMN]).column(0)
                for text in texts.to_pylist():
                    yield None if text is None else orjson.loads(text)

    def vectors_at(self, local: Sequence[int]) -> Block:
        """The vectors of some rows: from the file's pages where jsonvec wrote them and their
        checksum passed once (:mod:`jsonvec.storage.verified`; a file not known to have
        passed is read in full first, to check it), else through Arrow a row group each."""
        if not local:
            return self._empty()
        if self._verified():
            found = self._rows_from_pages(local)
            if found is not None:
                return found
        rows = self._column_at(VECTOR_COLUMN, local)
        return dtypes.unpack(np.stack(rows))

    def _rows_from_pages(self, local: Sequence[int]) -> Block | None:
        """Rows copied out of the memory-mapped pages, or None if a group is not in jsonvec's
        page layout."""
        out = np.empty((len(local), self.dim), dtype=NUMPY[self.dtype])
        with reading(self.path), open(self.path, "rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            try:
                data = memoryview(mapped)
                groups: dict[int, list[NDArray[Any]] | None] = {}  # page headers read once
                pages: list[NDArray[Any]] | None = None
                for at, row in enumerate(local):
                    group = int(np.searchsorted(self._bounds, row, side="right")) - 1
                    if group not in groups:
                        groups[group] = self._group_pages(data, group)
                    pages = groups[group]
                    if pages is None:
                        return None
                    out[at] = _take(pages, row - int(self._bounds[group]), self.dim)
                del pages, groups
                data.release()
            finally:
                with contextlib.suppress(BufferError):
                    mapped.close()
        return dtypes.unpack(out)

    def _column_at(self, column: str, local: Sequence[int]) -> list[Any]:
        """Values of ``column`` at ``local`` rows, reading only the row groups that hold them."""
        groups: dict[int, list[int]] = {}
        for row in local:
            group = int(np.searchsorted(self._bounds, row, side="right")) - 1
            groups.setdefault(group, []).append(row)
        out: dict[int, Any] = {}
        with reading(self.path, "ids" if column == "id" else column + "s"):
            parquet = self._open()
            for group, members in groups.items():
                values = parquet.read_row_group(group, columns=[column]).column(0)
                for row in members:
                    at = row - int(self._bounds[group])
                    out[row] = (
                        stored_rows(values.slice(at, 1), self.dim)[0]
                        if column == VECTOR_COLUMN
                        else values[at].as_py()
                    )
        return [out[row] for row in local]

    def find(self, wanted: str) -> list[int]:
        """Rows whose id is ``wanted``; integer ids skip row groups by their statistics."""
        number = int(wanted) if self.id_type == "int" and _is_integer(wanted) else None
        if self.id_type == "int" and number is None:
            return []
        found: list[int] = []
        with reading(self.path, "ids"):
            parquet = self._open()
            for group in range(self.metadata.num_row_groups):
                if number is not None and not self._may_hold(group, number):
                    continue
                ids = parquet.read_row_group(group, columns=[ID_COLUMN]).column(0).to_pylist()
                first = int(self._bounds[group])
                found += [first + i for i, rid in enumerate(ids) if matches(rid, wanted)]
        return found

    def _may_hold(self, group: int, number: int) -> bool:
        stats = self.metadata.row_group(group).column(0).statistics
        if stats is None or not stats.has_min_max:
            return True
        low, high = stats.min, stats.max
        return not (isinstance(low, int) and isinstance(high, int)) or low <= number <= high


def _is_integer(text: str) -> bool:
    body = text[1:] if text.startswith("-") else text
    return body.isascii() and body.isdigit()


def _take(pages: list[NDArray[Any]], row: int, dim: int) -> NDArray[Any]:
    """Row ``row`` of a group whose values are ``pages`` (runs of values in row order)."""
    start, end = row * dim, (row + 1) * dim
    parts = []
    first = 0
    for page in pages:
        last = first + len(page)
        if last > start and first < end:
            parts.append(page[max(start - first, 0) : min(end, last) - first])
        first = last
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _rechunk(pieces: Iterable[NDArray[Any]], rows: int, dim: int) -> Iterator[NDArray[Any]]:
    """Runs of values cut into blocks of ``rows`` rows of ``dim`` (copies)."""
    wanted = rows * dim
    gathered: list[NDArray[Any]] = []
    have = 0
    for piece in pieces:
        rest = piece
        while len(rest):
            take = min(len(rest), wanted - have)
            gathered.append(rest[:take])
            have += take
            rest = rest[take:]
            if have == wanted:
                yield np.concatenate(gathered).reshape(rows, dim)
                gathered, have = [], 0
    if have:
        if have % dim:
            raise VectorsError("the vector column does not hold whole vectors")
        yield np.concatenate(gathered).reshape(-1, dim)
