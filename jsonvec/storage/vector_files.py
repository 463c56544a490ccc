"""One vectors file read back: its metadata, its vectors in chunks, its ids and records.

Three formats, as ``jsonvec encode`` writes them (:mod:`jsonvec.storage.outputs`):

- ``.parquet``: see :mod:`jsonvec.storage.parquet.reader`.
- ``.npy``: memory-mapped; ids from the ``NAME.npy.ids`` sidecar, streamed.
- ``.jsonl``: ``{"id", "vector", "codebook", "encoding"}`` lines, parsed as they are read
  (small data).

Vectors computed by other encoding rules (``version.ENCODING``) are refused at open. A full
read checks the CRC-32 stored with the vectors (``.npy`` metadata, Parquet file
metadata), so a flipped byte is an error, not a wrong answer. Every problem reading a file is
a one-line :class:`VectorsError` naming it.
"""

from __future__ import annotations

import contextlib
import sys
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec.errors import AnnIndexError, JsonvecError, SearchError, VectorsError
from jsonvec.storage import dtypes, verified
from jsonvec.storage.dtypes import DTYPES, Dtype
from jsonvec.storage.layout import ID_COLUMN, VECTOR_COLUMN, found_sidecar_paths
from jsonvec.version import ENCODING, ENCODING_SINCE, __version__

SUFFIXES = (".parquet", ".npy", ".jsonl")
Block = NDArray[np.float32]


def _read_errors() -> tuple[type[BaseException], ...]:
    """What reading a vectors file can raise: Arrow's errors only once Arrow is loaded."""
    arrow = sys.modules.get("pyarrow")
    errors: tuple[type[BaseException], ...] = (OSError, ValueError, EOFError)
    return errors if arrow is None else (*errors, arrow.ArrowException)


@contextlib.contextmanager
def reading(path: Path | str, what: str = "vectors") -> Iterator[None]:
    """Turn the errors of reading a file into one :class:`VectorsError` naming it."""
    try:
        yield
    except _read_errors() as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if "CRC checksum verification failed" in reason:  # Arrow's page checksums
            raise VectorsError(f"{path}: {what} are corrupted (checksum mismatch)") from exc
        raise VectorsError(f"{path}: cannot read {what}: {reason}") from exc


def read_metadata(path: Path, raw: bytes | None) -> dict[str, Any]:
    """The jsonvec metadata of a vectors file, from its raw JSON (None: there is none)."""
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
    check_encoding(path, meta.get("encoding"))
    return meta


def check_encoding(where: Path | str, encoding: object, what: str = "vectors") -> None:
    """Refuse vectors (or an index, a manifest, a table: ``what``) computed by other rules
    than this jsonvec's (``version.ENCODING``; metadata that does not say was written by
    jsonvec 0.2 or 0.3: rules 2). Only an integer is a rule's number (not ``2.0``)."""
    found = 2 if encoding is None else encoding
    if not isinstance(found, int) or isinstance(found, bool):
        raise _encoding_error(what, f"{where}: jsonvec metadata is corrupted (encoding {found!r})")
    if found == ENCODING:
        return
    if found > ENCODING:
        raise _encoding_error(
            what,
            f"{where}: encoded by the rules of a newer jsonvec (encoding {found}; this is "
            f"jsonvec {__version__}, encoding {ENCODING}): upgrade jsonvec, or re-encode",
        )
    raise _encoding_error(
        what,
        f"{where}: encoded by jsonvec {ENCODING_SINCE.get(found, '0.1')} rules (encoding "
        f"{found}), which give other vectors than this jsonvec's (encoding {ENCODING}): "
        "re-encode the records" + (" and rebuild the index" if what == "index" else ""),
    )


def _encoding_error(what: str, message: str) -> JsonvecError:
    """The error of rules that differ: an index's, a search's (queries) or a vectors' one."""
    if what == "index":
        return AnnIndexError(message)
    if what == "queries":
        return SearchError(message)
    return VectorsError(message)


def matches(rid: Any, wanted: str) -> bool:
    """Whether a stored id is ``wanted``: a string id by equality, an integer by its text."""
    return rid == wanted if isinstance(rid, str) else str(rid) == wanted


class VectorFile(ABC):
    """What every vectors file offers; one subclass per format.

    Attributes
    ----------
    path : the file.
    count, dim : rows and dimension.
    fingerprint : the codebook's fingerprint, or None where the file does not say (JSON
        Lines written by jsonvec 0.2).
    params : the codebook's parameters (``Codebook.params()``), or None where not stored.
    id_type : ``"int"`` (record positions), ``"string"`` (from ``--id-field``), or
        ``"mixed"`` (JSON Lines: each line's own).
    has_records : whether each record's JSON text is stored too.
    dtype : the type the vectors are stored in (:mod:`jsonvec.storage.dtypes`); every reader
        gives them as float32.
    crc32 : CRC-32 of the vectors' stored data in row order, or None where not stored.
    """

    path: Path
    count: int
    dim: int
    fingerprint: str | None
    params: dict[str, Any] | None
    id_type: str
    has_records: bool = False
    dtype: Dtype = "float32"
    crc32: int | None = None

    def _init(self, path: Path, meta: dict[str, Any], count: int) -> None:
        self.path = path
        self.count = count
        self.dim = int(meta["dim"])
        self.fingerprint = meta.get("codebook")
        params = meta.get("codebook_params")
        self.params = params if isinstance(params, dict) else None
        self.id_type = "string" if meta.get("id_type") == "string" else "int"
        stored = meta.get("dtype", "float32")
        if stored not in DTYPES:
            raise VectorsError(f"{path}: jsonvec metadata is corrupted (dtype {stored!r})")
        self.dtype = stored

    @abstractmethod
    def chunks(self, rows: int) -> Iterator[tuple[int, Block]]:
        """``(first local row, block)`` pairs in order; a block is (m, dim) float32.

        At the end of the file, the vectors' checksum is compared with the stored one.
        """

    @abstractmethod
    def ids(self) -> Iterator[Any]:
        """Every id, in row order, streamed."""

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

    def all_records(self) -> Iterator[Any]:
        """Every stored record (parsed JSON) in row order; None for each where none is kept."""
        for _ in range(self.count):
            yield None

    def vectors_at(self, local: Sequence[int]) -> Block:
        """The vectors of some rows: (len(local), dim) float32, in the order asked."""
        wanted = sorted(set(local))
        found: dict[int, Block] = {}
        for start, block in self.chunks(1 << 12):
            for row in wanted:
                if start <= row < start + len(block):
                    found[row] = np.array(block[row - start], dtype=np.float32)
        return np.stack([found[row] for row in local]) if local else self._empty()

    def read_paths(self) -> list[tuple[str, Path]]:
        """``(role, path)`` of every file read for this one: itself and its sidecars."""
        return [("vectors file", self.path)]

    def find(self, wanted: str) -> list[int]:
        """The rows (0-based within this file) whose id is ``wanted``."""
        return [row for row, rid in enumerate(self.ids()) if matches(rid, wanted)]

    def _empty(self) -> Block:
        return np.zeros((0, self.dim), dtype=np.float32)

    def _verified(self) -> bool:
        """Whether this file's checksum is known to have passed (:mod:`jsonvec.storage.verified`),
        after reading it in full to check it where that is not known yet: rows read one by one
        from it are then those that passed. False for a file that stores no checksum, or that
        changed in the last seconds (not remembered yet)."""
        if self.crc32 is None:
            return False
        seen = verified.identity(self.path)
        if seen is None or not verified.known(seen, self.crc32):
            for _ in self.chunks(1 << 16):
                pass
            seen = verified.identity(self.path)
        return seen is not None and verified.known(seen, self.crc32)

    def _check_crc(self, crc: int) -> None:
        if self.crc32 is not None and crc != self.crc32:
            raise VectorsError(f"{self.path}: vectors are corrupted (checksum mismatch)")

    def _checked(self, blocks: Iterator[tuple[int, NDArray[Any]]]) -> Iterator[tuple[int, Block]]:
        """``blocks``, the file's vectors in order as stored, unpacked into float32, with their
        checksum compared at the end; or, where this file passed that check before and has not
        changed since (:mod:`jsonvec.storage.verified`), with a look that it did not change
        meanwhile."""
        if self.crc32 is None:
            yield from _unpacked(blocks)
            return
        seen = verified.identity(self.path)
        if seen is not None and verified.known(seen, self.crc32):
            yield from _unpacked(blocks)
            if verified.identity(self.path) != seen:
                raise VectorsError(f"{self.path}: changed while it was being read")
            return
        crc = 0
        for start, block in blocks:
            crc = zlib.crc32(np.ascontiguousarray(block).data, crc)
            yield from _unpacked([(start, block)])
        self._check_crc(crc)
        if seen is not None and verified.identity(self.path) == seen:
            verified.remember(seen, self.crc32)


class NpyVectors(VectorFile):
    """A ``.npy`` file with its sidecars."""

    def __init__(self, path: Path) -> None:
        ids_path, meta_path = found_sidecar_paths(path)
        self.ids_path = ids_path
        self.meta_path = meta_path
        with reading(path):
            raw = meta_path.read_bytes() if meta_path.exists() else None
            meta = read_metadata(path, raw)
            array = np.load(path, mmap_mode="r")
            shape, kind = array.shape, dtypes.of_numpy(array.dtype)
        count = meta.get("count", -1)
        if not isinstance(count, int) or shape != (count, meta["dim"]):
            raise VectorsError(
                f"{path}: holds {shape[0]} rows of dim {shape[-1]}, but its metadata says "
                f"{count} of dim {meta['dim']}"
            )
        self._init(path, meta, count)
        if kind != self.dtype:
            raise VectorsError(
                f"{path}: holds {array.dtype} values, but its metadata says {self.dtype}"
            )
        crc = meta.get("crc32")
        self.crc32 = crc if isinstance(crc, int) else None

    def read_paths(self) -> list[tuple[str, Path]]:
        return [
            ("vectors file", self.path),
            ("ids file", self.ids_path),
            ("metadata file", self.meta_path),
        ]

    def chunks(self, rows: int) -> Iterator[tuple[int, Block]]:
        with reading(self.path):
            yield from self._checked(self._blocks(rows))

    def _blocks(self, rows: int) -> Iterator[tuple[int, NDArray[Any]]]:
        array = np.load(self.path, mmap_mode="r")
        for start in range(0, self.count, rows):
            yield start, np.ascontiguousarray(array[start : start + rows])

    def vectors_at(self, local: Sequence[int]) -> Block:
        """The vectors of some rows, read where they are, once the file's checksum is known to
        have passed (:meth:`VectorFile._verified`)."""
        self._verified()
        with reading(self.path):
            array = np.load(self.path, mmap_mode="r")
            return dtypes.unpack(np.asarray(array[list(local)]).reshape(-1, self.dim))

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
                    or not isinstance(item.get(VECTOR_COLUMN), list)
                    or ID_COLUMN not in item
                ):
                    raise VectorsError(
                        f"{self.path}:{lineno}: not a vector line (expected "
                        '{"id": ..., "vector": [...]}; is this an input file?)'
                    )
                check_encoding(f"{self.path}:{lineno}", item.get("encoding"))
                book = item.get("codebook")
                yield (
                    lineno,
                    item[ID_COLUMN],
                    item[VECTOR_COLUMN],
                    book if isinstance(book, str) else None,
                )

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


def _unpacked(blocks: Iterable[tuple[int, NDArray[Any]]]) -> Iterator[tuple[int, Block]]:
    """Stored blocks as float32: float32 blocks as they are, others unpacked a few hundred
    rows at a time (:func:`jsonvec.storage.dtypes.blocks`)."""
    for start, block in blocks:
        if block.dtype == np.float32:
            yield start, block
            continue
        first = start
        for piece in dtypes.blocks(block):
            yield first, piece
            first += len(piece)


def chunked(blocks: Iterable[tuple[int, Block]], offset: int) -> Iterator[tuple[int, Block]]:
    """``blocks`` with their first rows moved by ``offset`` (rows of earlier files)."""
    for start, block in blocks:
        yield offset + start, block
