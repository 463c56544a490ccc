"""One vectors file read back: its metadata, its vectors in chunks, its ids and records.

Three formats, as ``jsonvec encode`` writes them (:mod:`jsonvec.writers`):

- ``.parquet``: vectors read a row group at a time (bounded memory whatever the file size),
  straight from the pages through a memory map where the layout allows
  (:mod:`jsonvec.parquet_pages`), through Arrow otherwise; ids and records from only the
  row groups that hold the rows asked for.
- ``.npy``: memory-mapped; ids from the ``NAME.npy.ids`` sidecar, streamed.
- ``.jsonl``: ``{"id", "vector", "codebook"}`` lines, parsed as they are read (small data).

A full read checks the CRC-32 stored with the vectors (``.npy`` metadata, Parquet file
metadata), so a flipped byte is an error, not a wrong answer. Every problem reading a file is
a one-line :class:`VectorsError` naming it.
"""

from __future__ import annotations

import contextlib
import mmap
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from jsonvec.errors import JsonvecError
from jsonvec.parquet_pages import vector_pages
from jsonvec.writers import CRC_KEY, METADATA_KEY, RECORD_COLUMN, found_sidecar_paths

SUFFIXES = (".parquet", ".npy", ".jsonl")
_PAGE_BLOCK_ROWS = 1 << 12  # rows gathered from Parquet pages into one block (32 MB at dim 1024)
Block = NDArray[np.float32]


class VectorsError(JsonvecError):
    """A vectors file is missing, unreadable, damaged or inconsistent with the others."""


@contextlib.contextmanager
def reading(path: Path | str, what: str = "vectors") -> Iterator[None]:
    """Turn the errors of reading a file into one :class:`VectorsError` naming it."""
    try:
        yield
    except (OSError, ValueError, EOFError, pa.ArrowException) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if "CRC checksum verification failed" in reason:  # Arrow's page checksums
            raise VectorsError(f"{path}: {what} are corrupted (checksum mismatch)") from exc
        raise VectorsError(f"{path}: cannot read {what}: {reason}") from exc


def _metadata(path: Path, raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        raise VectorsError(f"{path}: not a jsonvec vectors file (no jsonvec metadata)")
    try:
        meta = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise VectorsError(f"{path}: jsonvec metadata is corrupted") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("codebook"), str):
        raise VectorsError(f"{path}: jsonvec metadata is corrupted")
    if not isinstance(meta.get("dim"), int):
        raise VectorsError(f"{path}: jsonvec metadata is corrupted")
    return meta


def matches(rid: Any, wanted: str) -> bool:
    """Whether a stored id is ``wanted``: a string id by equality, an integer by its text."""
    return rid == wanted if isinstance(rid, str) else str(rid) == wanted


class VectorFile:
    """What every vectors file offers; one subclass per format.

    Attributes
    ----------
    path : the file.
    count, dim : rows and dimension.
    fingerprint : the codebook's fingerprint, or None where the file does not say (JSON
        Lines written by jsonvec 0.2).
    params : the codebook's parameters (``Codebook.params()``), or None where not stored.
    id_type : ``"int"`` (record positions) or ``"string"`` (from ``--id-field``).
    has_records : whether each record's JSON text is stored too.
    crc32 : CRC-32 of the vectors' float32 data in row order, or None where not stored.
    """

    path: Path
    count: int
    dim: int
    fingerprint: str | None
    params: dict[str, Any] | None
    id_type: str
    has_records: bool = False
    crc32: int | None = None

    def _init(self, path: Path, meta: dict[str, Any], count: int) -> None:
        self.path = path
        self.count = count
        self.dim = int(meta["dim"])
        self.fingerprint = meta.get("codebook")
        params = meta.get("codebook_params")
        self.params = params if isinstance(params, dict) else None
        self.id_type = "string" if meta.get("id_type") == "string" else "int"

    def chunks(self, rows: int) -> Iterator[tuple[int, Block]]:
        """``(first local row, block)`` pairs in order; a block is (m, dim) float32.

        At the end of the file, the vectors' checksum is compared with the stored one.
        """
        raise NotImplementedError

    def ids(self) -> Iterator[Any]:
        """Every id, in row order, streamed."""
        raise NotImplementedError

    def ids_at(self, local: Sequence[int]) -> list[Any]:
        """The ids of some rows (0-based within this file), in the order asked."""
        wanted = set(local)
        found: dict[int, Any] = {}
        for row, rid in enumerate(self.ids()):
            if row in wanted:
                found[row] = rid
                if len(found) == len(wanted):
                    break
        return [found[row] for row in local]

    def records_at(self, local: Sequence[int]) -> list[Any]:
        """The stored records of some rows (parsed JSON); None for each where none is kept."""
        return [None] * len(local)

    def vectors_at(self, local: Sequence[int]) -> Block:
        """The vectors of some rows: (len(local), dim) float32, in the order asked."""
        wanted = sorted(set(local))
        found: dict[int, Block] = {}
        for start, block in self._plain_chunks(1 << 12):
            for row in wanted:
                if start <= row < start + len(block):
                    found[row] = np.array(block[row - start], dtype=np.float32)
        return np.stack([found[row] for row in local]) if local else self._empty()

    def _plain_chunks(self, rows: int) -> Iterator[tuple[int, Block]]:
        """Chunks without the checksum at the end (a partial read)."""
        return self.chunks(rows)

    def find(self, wanted: str) -> list[int]:
        """The rows (0-based within this file) whose id is ``wanted``."""
        return [row for row, rid in enumerate(self.ids()) if matches(rid, wanted)]

    def _empty(self) -> Block:
        return np.zeros((0, self.dim), dtype=np.float32)

    def _check_crc(self, crc: int) -> None:
        if self.crc32 is not None and crc != self.crc32:
            raise VectorsError(f"{self.path}: vectors are corrupted (checksum mismatch)")


def open_vector_file(path: Path) -> VectorFile:
    """Read the metadata of one vectors file (not its vectors); the format from the suffix."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return ParquetVectors(path)
    if suffix == ".npy":
        return NpyVectors(path)
    if suffix == ".jsonl":
        return JsonlVectors(path)
    raise VectorsError(f"{path}: not a vectors file (expected .parquet, .npy or .jsonl)")


class ParquetVectors(VectorFile):
    """A Parquet file written by ``jsonvec encode``."""

    def __init__(self, path: Path) -> None:
        with reading(path):
            parquet = pq.ParquetFile(path)
            schema = parquet.schema_arrow
            meta = _metadata(path, (schema.metadata or {}).get(METADATA_KEY.encode()))
            self.metadata = parquet.metadata
            crc = (parquet.metadata.metadata or {}).get(CRC_KEY.encode())
        self._init(path, meta, self.metadata.num_rows)
        self.has_records = RECORD_COLUMN in schema.names
        self.id_type = "string" if pa.types.is_string(schema.field("id").type) else "int"
        self.crc32 = int(crc) if crc is not None and crc.isdigit() else None
        self._bounds = np.cumsum(
            [0] + [self.metadata.row_group(i).num_rows for i in range(self.metadata.num_row_groups)]
        )
        self._vector_column = schema.get_field_index("vector")

    def _open(self) -> pq.ParquetFile:
        # page checksums are checked where no checksum of the vectors is stored (0.2 files);
        # the vectors' own CRC covers them otherwise, and pages of ids and records are checked
        return pq.ParquetFile(self.path, page_checksum_verification=True)

    def chunks(self, rows: int) -> Iterator[tuple[int, Block]]:
        with reading(self.path):
            crc = 0
            for start, block in self._blocks(rows):
                crc = zlib.crc32(block.data, crc)
                yield start, block
            self._check_crc(crc)

    def _plain_chunks(self, rows: int) -> Iterator[tuple[int, Block]]:
        with reading(self.path):
            yield from self._blocks(rows)

    def _blocks(self, rows: int) -> Iterator[tuple[int, Block]]:
        """Blocks of ``rows`` rows (fewer at the end), each a copy the caller may keep."""
        start = 0
        for block in _rechunk(self._pieces(), min(rows, _PAGE_BLOCK_ROWS), self.dim):
            yield start, block
            start += len(block)

    def _pieces(self) -> Iterator[Block]:
        """The vector column's floats, a page (or a row group) at a time, in row order."""
        if self.crc32 is None:  # no checksum of the vectors: Arrow reads and checks pages
            parquet = self._open()
            for group in range(self.metadata.num_row_groups):
                yield self._arrow_group(parquet, group).reshape(-1)
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
                        pages = [self._arrow_group(self._open(), group).reshape(-1)]
                    yield from pages
                    del pages
                data.release()
            finally:
                with contextlib.suppress(BufferError):  # a view still held keeps it open
                    mapped.close()

    def _group_pages(self, data: memoryview, group: int) -> list[Block] | None:
        """Views of the float values of one row group's pages, or None if it cannot be."""
        column = self.metadata.row_group(group).column(self._vector_column)
        pages = vector_pages(
            data, column.data_page_offset, column.total_compressed_size, column.compression
        )
        expected = self.metadata.row_group(group).num_rows * self.dim
        if pages is None or sum(count for _, count in pages) != expected:
            return None
        return [np.frombuffer(data, dtype="<f4", count=n, offset=o) for o, n in pages]

    def _arrow_blocks(self) -> Iterator[tuple[int, Block]]:
        parquet = self._open()
        start = 0
        for group in range(self.metadata.num_row_groups):
            block = self._arrow_group(parquet, group)
            yield start, block
            start += len(block)

    def _arrow_group(self, parquet: pq.ParquetFile, group: int) -> Block:
        column = parquet.read_row_group(group, columns=["vector"]).column(0)
        chunks: list[Any] = column.chunks
        flat = [c.values.to_numpy(zero_copy_only=False) for c in chunks]
        joined = np.concatenate(flat) if flat else np.zeros(0, dtype=np.float32)
        return np.asarray(joined, dtype=np.float32).reshape(-1, self.dim)

    def ids(self) -> Iterator[Any]:
        with reading(self.path, "ids"):
            parquet = self._open()
            for group in range(self.metadata.num_row_groups):
                yield from parquet.read_row_group(group, columns=["id"]).column(0).to_pylist()

    def ids_at(self, local: Sequence[int]) -> list[Any]:
        return self._column_at("id", local)

    def records_at(self, local: Sequence[int]) -> list[Any]:
        if not self.has_records:
            return [None] * len(local)
        with reading(self.path, "records"):
            return [orjson.loads(text) for text in self._column_at(RECORD_COLUMN, local)]

    def vectors_at(self, local: Sequence[int]) -> Block:
        rows = self._column_at("vector", local)
        return np.stack(rows) if rows else self._empty()

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
                    item = values[row - int(self._bounds[group])]
                    out[row] = (
                        np.asarray(item.values.to_numpy(zero_copy_only=False), dtype=np.float32)
                        if column == "vector"
                        else item.as_py()
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
                ids = parquet.read_row_group(group, columns=["id"]).column(0).to_pylist()
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


class NpyVectors(VectorFile):
    """A ``.npy`` file with its sidecars."""

    def __init__(self, path: Path) -> None:
        ids_path, meta_path = found_sidecar_paths(path)
        self.ids_path = ids_path
        with reading(path):
            raw = meta_path.read_bytes() if meta_path.exists() else None
            meta = _metadata(path, raw)
            shape = np.load(path, mmap_mode="r").shape
        count = meta.get("count", -1)
        if not isinstance(count, int) or shape != (count, meta["dim"]):
            raise VectorsError(
                f"{path}: holds {shape[0]} rows of dim {shape[-1]}, but its metadata says "
                f"{count} of dim {meta['dim']}"
            )
        self._init(path, meta, count)
        crc = meta.get("crc32")
        self.crc32 = crc if isinstance(crc, int) else None

    def chunks(self, rows: int) -> Iterator[tuple[int, Block]]:
        with reading(self.path):
            array = np.load(self.path, mmap_mode="r")
            crc = 0
            for start in range(0, self.count, rows):
                block = np.ascontiguousarray(array[start : start + rows], dtype="<f4")
                crc = zlib.crc32(block.data, crc)
                yield start, block
            self._check_crc(crc)

    def vectors_at(self, local: Sequence[int]) -> Block:
        with reading(self.path):
            array = np.load(self.path, mmap_mode="r")
            return np.array(array[list(local)], dtype=np.float32).reshape(-1, self.dim)

    def ids(self) -> Iterator[Any]:
        rows = 0
        try:
            with open(self.ids_path, "rb") as handle:
                for line in handle:
                    rows += 1
                    yield orjson.loads(line)
        except (OSError, orjson.JSONDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else f"line {rows}: invalid JSON"
            raise VectorsError(f"{self.ids_path}: cannot read ids: {reason}") from exc
        if rows != self.count:
            raise VectorsError(
                f"{self.ids_path}: holds {rows} ids, but {self.path.name} has {self.count} "
                "rows (a truncated or foreign ids file)"
            )


class JsonlVectors(VectorFile):
    """JSON Lines of ``{"id", "vector", "codebook"}``, as ``encode -o x.jsonl`` writes them.

    There is no index into the text: every read parses the file from the start, which is
    fine for the small collections this format is meant for.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        count, dim, fingerprint = 0, None, None
        for _, _, vector, book in self._lines():
            if dim is None:
                dim, fingerprint = len(vector), book
            elif len(vector) != dim:
                raise VectorsError(f"{path}:{count + 1}: a vector of dim {len(vector)}, not {dim}")
            elif book != fingerprint:
                raise VectorsError(
                    f"{path}:{count + 1}: encoded with codebook {book}, the lines before with "
                    f"codebook {fingerprint}: they cannot be mixed"
                )
            count += 1
        meta = {"dim": dim or 0, "codebook": fingerprint}
        self._init(path, meta, count)
        self.id_type = "mixed"

    def _lines(self) -> Iterator[tuple[int, Any, list[Any], str | None]]:
        """``(line number, id, vector, codebook)`` of each non-blank line."""
        lineno = 0
        with reading(self.path), open(self.path, "rb") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    item = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise VectorsError(f"{self.path}:{lineno}: not a vector line: {exc}") from exc
                if (
                    not isinstance(item, dict)
                    or not isinstance(item.get("vector"), list)
                    or "id" not in item
                ):
                    raise VectorsError(
                        f"{self.path}:{lineno}: not a vector line (expected "
                        '{"id": ..., "vector": [...]}; is this an input file?)'
                    )
                book = item.get("codebook")
                yield lineno, item["id"], item["vector"], book if isinstance(book, str) else None

    def chunks(self, rows: int) -> Iterator[tuple[int, Block]]:
        block: list[list[Any]] = []
        start = 0
        for lineno, _, vector, _ in self._lines():
            if len(vector) != self.dim:
                raise VectorsError(f"{self.path}:{lineno}: changed while being read")
            block.append(vector)
            if len(block) == rows:
                yield start, self._array(block, lineno)
                start += len(block)
                block = []
        if block:
            yield start, self._array(block, 0)

    def _array(self, block: list[list[Any]], lineno: int) -> Block:
        try:
            return np.asarray(block, dtype=np.float32).reshape(len(block), self.dim)
        except (TypeError, ValueError) as exc:
            raise VectorsError(f"{self.path}: a vector holds something else than numbers") from exc

    def ids(self) -> Iterator[Any]:
        for _, rid, _, _ in self._lines():
            yield rid


def _rechunk(pieces: Iterable[Block], rows: int, dim: int) -> Iterator[Block]:
    """Runs of floats cut into blocks of ``rows`` rows of ``dim`` (copies)."""
    wanted = rows * dim
    gathered: list[Block] = []
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


def chunked(blocks: Iterable[tuple[int, Block]], offset: int) -> Iterator[tuple[int, Block]]:
    """``blocks`` with their first rows moved by ``offset`` (rows of earlier files)."""
    for start, block in blocks:
        yield offset + start, block
