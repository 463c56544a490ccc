"""Approximate nearest-neighbour index (the ``ann`` extra: ``pip install 'jsonvec[ann]'``).

Built on usearch: an HNSW graph in a single file that is memory-mapped on load, Apache-2.0,
an 11 MB wheel with no other dependencies (faiss-cpu is ~66 MB). An index is two files:
``INDEX`` and, beside it, ``INDEX.meta.json`` with the codebook fingerprint and encoding
rules (``version.ENCODING``: an index of vectors computed by other rules is refused), the
dimension, the settings, the index file's size and CRC-32, and the vectors files it was built
from, in order: each by
its path relative to the index and by its content (row count, size and the CRC-32 of its
vectors stored in its metadata; the modification time for files that store none). So the
index and its vectors can be moved or copied together, and an index built from other or
changed vectors is refused, without reading the vectors at open.

At every open the index file's size and its header (usearch's own: count, dimension, metric)
are checked, and its whole CRC-32 when it is small (up to 64 MB, a few milliseconds); a
larger one gets the CRC-32 of its first and last MB. ``jsonvec index check`` reads it all.

By default the graph is built over 256 dimensions of a seeded random projection of the
vectors, kept in float16: a quarter of the distance work of the full vectors, and half their
memory. A search takes the graph's best :data:`CANDIDATES` rows (or 4 k) and orders them by
their exact cosine, read from the vectors files (``Collection.vectors_at``: a few KB each);
so the scores are exact, and only which rows are candidates is approximate
(docs/search.md has the measurements that chose these settings).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec._utils.atomic import AtomicFile
from jsonvec.errors import AnnIndexError
from jsonvec.storage.collection import Collection
from jsonvec.storage.guard import Named, check_files
from jsonvec.storage.vector_files import VectorFile, check_encoding
from jsonvec.version import ENCODING, __version__

INDEX_FORMAT = 2
SMALL_INDEX = 64 << 20  # bytes: an index up to this size has its full CRC-32 checked at open
_END = 1 << 20  # bytes at each end of a larger index covered by the check at open
_SMALL_GRAPH = 10_000  # vectors: an index this small is updated on one thread
#: the HNSW settings of `index build` and `similar --index` (docs/search.md: measured at 1M)
DEFAULTS = {"connectivity": 16, "expansion_add": 128, "expansion_search": 256}
#: how an index stores its vectors: usearch's scalar kind for each jsonvec dtype name
SCALARS = {"float32": "f32", "float16": "f16"}
DEFAULT_SCALAR = "float16"
#: dimensions of the projection the graph is built over (0: the vectors themselves)
DEFAULT_PROJECTION = 256


def _usearch() -> Any:
    try:
        from usearch.index import Index as UIndex  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise AnnIndexError(
            "the ANN index needs the 'ann' extra: pip install 'jsonvec[ann]'"
        ) from exc
    return UIndex


def meta_path(index_path: str | os.PathLike[str]) -> Path:
    """The metadata file that goes with an index file."""
    path = Path(index_path)
    return path.with_name(path.name + ".meta.json")


def build_index(
    collection: Collection,
    index_path: str | os.PathLike[str],
    *,
    connectivity: int = DEFAULTS["connectivity"],
    expansion_add: int = DEFAULTS["expansion_add"],
    dtype: str = DEFAULT_SCALAR,
    projection: int = DEFAULT_PROJECTION,
    chunk_rows: int = 1 << 16,
) -> None:
    """Build an HNSW index over ``collection`` and write it (and its metadata) atomically.

    ``projection`` (when below the vectors' dim; 0 for none) builds the graph over that many
    dimensions of a seeded random projection of the vectors: a quarter of the distance work
    at 256 of 1,024; a search then takes :data:`CANDIDATES` (or 4 k) rows from the graph and
    orders them by their exact cosine, read from the vectors files.

    ``dtype`` is how the index keeps the vectors it compares while searching its graph:
    ``float16`` (the default: half the memory, a build 1.6-1.9 times faster, the recall of
    float32 on the bench's vectors) or ``float32``.

    An index (or its metadata) that would overwrite one of the vectors files it is built from, or a
    sidecar of theirs, is refused before anything is built (:mod:`jsonvec.storage.guard`).
    """
    written = [Named("index", os.fspath(index_path))]
    written.append(Named("index metadata", str(meta_path(index_path))))
    check_files(collection.read_files(), written)
    if dtype not in SCALARS:
        raise AnnIndexError(f"unknown index dtype {dtype!r}: choose one of {', '.join(SCALARS)}")
    dims = projection if 0 < projection < collection.dim else 0
    uindex = _usearch()(
        ndim=dims or collection.dim,
        metric="ip",
        dtype=SCALARS[dtype],
        connectivity=connectivity,
        expansion_add=expansion_add,
    )
    matrix = _projection(collection.dim, dims)
    for start, block in _gathered(collection.chunks(chunk_rows), chunk_rows):
        uindex.add(np.arange(start, start + len(block), dtype=np.uint64), _projected(block, matrix))
    meta = {
        "format": INDEX_FORMAT,
        "codebook": collection.fingerprint,
        "encoding": ENCODING,
        "dim": collection.dim,
        "count": collection.count,
        "files": describe(collection.files, Path(index_path).parent),
        "connectivity": connectivity,
        "expansion_add": expansion_add,
        "dtype": dtype,
        "projection": dims,
        "jsonvec_version": __version__,
    }
    _write(uindex, Path(index_path), meta)


#: rows a search over a projected graph takes from it before ordering them exactly
CANDIDATES = 100
_PROJECTION_SEED = 0x4A56  # the projection is a function of the dims alone


def _gathered(
    blocks: Iterable[tuple[int, NDArray[np.float32]]], rows: int
) -> Iterator[tuple[int, NDArray[np.float32]]]:
    """Consecutive blocks joined into blocks of up to ``rows`` rows: usearch adds a block on
    all cores, so blocks of a few hundred rows (Parquet pages, unpacked types) would leave
    them waiting."""
    pending: list[NDArray[np.float32]] = []
    first = have = 0
    for start, block in blocks:
        if have and have + len(block) > rows:
            yield first, np.concatenate(pending)
            pending, have = [], 0
        if not have:
            first = start
        pending.append(block)
        have += len(block)
    if pending:
        yield first, np.concatenate(pending) if len(pending) > 1 else pending[0]


def _projection(dim: int, dims: int) -> NDArray[np.float32] | None:
    """A (dim, dims) matrix of random signs over sqrt(dims), the same bits on every machine
    (None: no projection)."""
    if not dims:
        return None
    signs = np.random.default_rng(_PROJECTION_SEED).integers(0, 2, size=(dim, dims))
    matrix: NDArray[np.float32] = ((signs * 2 - 1) / np.sqrt(dims)).astype(np.float32)
    return matrix


def _projected(vectors: NDArray[np.float32], matrix: NDArray[np.float32] | None) -> Any:
    return vectors if matrix is None else np.ascontiguousarray(vectors @ matrix)


def update_index(
    collection: Collection, index_path: str | os.PathLike[str], *, chunk_rows: int = 1 << 16
) -> int:
    """Add to the index at ``index_path`` the rows of ``collection`` appended after it was
    built (its files start with the index's, unchanged, and go on with more), and put the
    grown index and its metadata in place atomically: an update that fails or is interrupted
    leaves the previous index as it was. Returns the rows added (0: the index was current,
    and nothing was written).

    Raises :class:`~jsonvec.errors.AnnIndexError` for an index that is damaged (it is read in
    full and its checksum compared), of another codebook, or built from files that changed
    or are not the collection's first.
    """
    path = Path(index_path)
    meta = _read_meta(path, collection)
    built = meta.get("files") or []
    now = describe(collection.files, path.parent)
    if _same(built, now):
        return 0
    if _added(built, now) is None:
        _refuse(path, collection.files, built, now)
    written = [Named("index", os.fspath(path)), Named("index metadata", str(meta_path(path)))]
    check_files(collection.read_files(), written)
    if crc32(path) != meta.get("index_crc32"):
        raise AnnIndexError(f"{path}: index file is damaged (checksum mismatch)")
    try:
        uindex = _usearch().restore(str(path), view=False)
    except (OSError, RuntimeError, ValueError) as exc:
        raise AnnIndexError(f"{path}: cannot read index: {exc}") from exc
    if uindex is None or len(uindex) != meta["count"]:
        raise AnnIndexError(f"{path}: index file is damaged or not a jsonvec index")
    first = len(built)
    start = int(collection.offsets[first])
    added = Collection(collection.files[first:])
    # usearch 2.x adding with several threads to a small restored index can leave a new node
    # that no search reaches (about one update in three of 12 + 8 vectors; none seen at
    # 20,000 + 2,000): a small index grows on one thread, which costs it little
    threads = 1 if len(uindex) < _SMALL_GRAPH else 0
    matrix = _projection(collection.dim, int(meta.get("projection") or 0))
    for offset, block in _gathered(added.chunks(chunk_rows), chunk_rows):
        rows = np.arange(start + offset, start + offset + len(block), dtype=np.uint64)
        uindex.add(rows, _projected(block, matrix), threads=threads)
    meta.update(count=collection.count, files=now, jsonvec_version=__version__)
    _write(uindex, path, meta)
    return added.count


def _write(uindex: Any, target: Path, meta: dict[str, Any]) -> None:
    """Put the index and its metadata in place, both on disk before either replaces the
    files of a previous index."""
    files: list[AtomicFile] = []
    try:
        files.append(AtomicFile(target))
        files.append(AtomicFile(meta_path(target)))
        index, described = files
        written = Path(index.reopened())
        uindex.save(str(written))
        meta["index_bytes"], meta["index_crc32"] = written.stat().st_size, crc32(written)
        meta["index_ends_crc32"] = ends_crc32(written)
        described.file.write(orjson.dumps(meta, option=orjson.OPT_INDENT_2) + b"\n")
        for file in files:
            file.prepare()
        for file in files:
            file.commit()
    except (OSError, RuntimeError) as exc:
        raise AnnIndexError(f"{target}: cannot write index: {exc}") from exc
    finally:
        for file in files:
            file.abort()  # nothing where all went well


def crc32(path: Path) -> int:
    """CRC-32 of a file, read 16 MB at a time."""
    crc = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            crc = zlib.crc32(chunk, crc)
    return crc


def ends_crc32(path: Path) -> int:
    """CRC-32 of the first and the last MB of a file (all of it, if it is smaller)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(_END)
        handle.seek(max(size - _END, len(head)))
        return zlib.crc32(handle.read(_END), zlib.crc32(head))


def describe(files: list[VectorFile], base: Path) -> list[dict[str, Any]]:
    """Each vectors file by its path relative to ``base`` and by its content."""
    described = []
    for file in files:
        stat = os.stat(file.path)
        entry: dict[str, Any] = {
            "path": os.path.relpath(file.path.resolve(), base.resolve()),
            "count": file.count,
            "size": stat.st_size,
        }
        if file.crc32 is not None:
            entry["crc32"] = file.crc32
        else:  # no checksum stored with the vectors: their modification time stands in
            entry["mtime_ns"] = stat.st_mtime_ns
        described.append(entry)
    return described


def _read_meta(path: Path, collection: Collection) -> dict[str, Any]:
    """The index's metadata, refused when unreadable, of another format, other encoding
    rules or another codebook than ``collection``'s."""
    where = meta_path(path)
    try:
        meta = orjson.loads(where.read_bytes())
    except FileNotFoundError as exc:
        raise AnnIndexError(f"{path}: no index metadata ({where.name} is missing)") from exc
    except (OSError, orjson.JSONDecodeError) as exc:
        raise AnnIndexError(f"{where}: index metadata is unreadable or corrupted") from exc
    if meta.get("format") == 1:
        raise AnnIndexError(
            f"{path} was built by jsonvec 0.2, whose indexes cannot be moved; "
            "rebuild it with jsonvec index build"
        )
    if meta.get("format") != INDEX_FORMAT:
        raise AnnIndexError(f"{path}: unsupported index format {meta.get('format')!r}")
    check_encoding(where, meta.get("encoding"), "index")
    if meta.get("codebook") != collection.fingerprint:
        raise AnnIndexError(
            f"{path} was built with codebook {meta.get('codebook')}, but the vectors "
            f"have codebook {collection.fingerprint}"
        )
    return dict(meta)


def _refuse(
    path: Path, files: list[VectorFile], built: list[dict[str, Any]], now: list[dict[str, Any]]
) -> NoReturn:
    """Say why an index does not answer for these files: behind them, out of date, or built
    from others."""
    added = _added(built, now)
    if added is not None:
        raise AnnIndexError(
            f"{path} is behind the vectors: {added:,} rows were added after it was built; "
            "add them with jsonvec index update"
        )
    for file, old, new in zip(files, built, now, strict=False):
        if old["path"] == new["path"] and _content(old) != _content(new):
            raise AnnIndexError(
                f"{path} is out of date: {file.path} changed after the index was built; "
                "rebuild it with jsonvec index build"
            )
    names = ", ".join(str(f["path"]) for f in built)
    raise AnnIndexError(
        f"{path} was built from other vectors files ({names}, relative to the index); "
        "rebuild it or give those files"
    )


def _added(built: list[dict[str, Any]], now: list[dict[str, Any]]) -> int | None:
    """Rows in the files after those an index was built from, when those come first and
    unchanged (vectors appended since); else None."""
    head = now[: len(built)]
    if not built or len(now) == len(built):
        return None
    if not _same(built, head):
        return None
    return sum(int(f["count"]) for f in now[len(built) :])


def _same(built: list[dict[str, Any]], now: list[dict[str, Any]]) -> bool:
    """Whether two lists of described files hold the same files, by content, in order."""
    return [_content(f) for f in built] == [_content(f) for f in now]


def _content(entry: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(entry.get(k) for k in ("count", "size", "crc32", "mtime_ns"))


class AnnIndex:
    """A built index, checked against the collection it must answer for."""

    def __init__(
        self,
        collection: Collection,
        index_path: str | os.PathLike[str],
        expansion_search: int = DEFAULTS["expansion_search"],
    ) -> None:
        self.path = Path(index_path)
        self.collection = collection
        self.expansion_search = expansion_search
        meta = self._check_meta()
        self._meta = meta
        self._check_file(meta)
        try:
            self._index = _usearch().restore(str(self.path), view=True)
        except (OSError, RuntimeError, ValueError) as exc:
            raise AnnIndexError(f"{self.path}: cannot read index: {exc}") from exc
        if self._index is None or len(self._index) != meta["count"]:
            raise AnnIndexError(f"{self.path}: index file is damaged or not a jsonvec index")
        self._index.expansion_search = expansion_search
        self._matrix = _projection(int(meta["dim"]), int(meta.get("projection") or 0))

    def _check_file(self, meta: dict[str, Any]) -> None:
        """Size, usearch header and checksum of the index file, before it is mapped."""
        try:
            size = self.path.stat().st_size
        except OSError as exc:
            raise AnnIndexError(f"{self.path}: cannot read index: {exc.strerror}") from exc
        if size != meta.get("index_bytes"):
            written = meta.get("index_bytes")
            raise AnnIndexError(
                f"{self.path}: index file is damaged: {size} bytes, {written} written"
            )
        try:
            header = _usearch().metadata(str(self.path))
        except (OSError, RuntimeError, ValueError) as exc:
            raise AnnIndexError(f"{self.path}: index file is damaged ({exc})") from exc
        if (
            not header
            or header.get("dimensions") != (meta.get("projection") or meta["dim"])
            or header.get("count_present") != meta["count"]
        ):
            raise AnnIndexError(f"{self.path}: index file is damaged (its header disagrees)")
        if size <= SMALL_INDEX:
            self.verify()
        elif ends_crc32(self.path) != meta.get("index_ends_crc32"):
            raise AnnIndexError(f"{self.path}: index file is damaged (checksum mismatch)")

    def verify(self) -> None:
        """Check the index file's CRC-32 against the one recorded when it was built.

        Reads the whole file (about a second per GB); done at open only for a small index.
        """
        expected = self._meta.get("index_crc32")
        if expected is not None and crc32(self.path) != expected:
            raise AnnIndexError(f"{self.path}: index file is damaged (checksum mismatch)")

    def _check_meta(self) -> dict[str, Any]:
        meta = _read_meta(self.path, self.collection)
        self._check_files(meta.get("files") or [])
        return meta

    def _check_files(self, built: list[dict[str, Any]]) -> None:
        """The collection's files must be those the index was built from, in order."""
        now = describe(self.collection.files, self.path.parent)
        if not _same(built, now):
            _refuse(self.path, self.collection.files, built, now)

    def search(
        self, queries: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Approximate top-k rows per query: shapes (n_queries, k), best first."""
        if k == 0 or len(queries) == 0:
            empty = np.empty((len(queries), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        if self._matrix is not None:
            return self._rescored(queries, self._matrix, k)
        return self._graph(queries, k)

    def _rescored(
        self, queries: NDArray[np.float32], matrix: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The graph's candidates for each query, ordered by their exact cosine (then row)."""
        wanted = min(max(CANDIDATES, 4 * k), len(self._index))
        keys, _ = self._graph(np.ascontiguousarray(queries @ matrix), wanted)
        rows = np.full((len(queries), k), -1, dtype=np.int64)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        for q, candidates in enumerate(keys):
            found = np.unique(candidates[candidates >= 0])
            exact = (self.collection.vectors_at(found.tolist()) @ queries[q]).astype(np.float32)
            order = np.lexsort((found, -exact))[:k]
            rows[q, : len(order)] = found[order]
            scores[q, : len(order)] = exact[order]
        return rows, scores

    def _graph(
        self, queries: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top-k rows of the graph search and its scores; row -1 where it found fewer."""
        matches = self._index.search(queries, k)
        keys = np.asarray(matches.keys).astype(np.int64).reshape(len(queries), -1)
        scores = (1.0 - np.asarray(matches.distances, dtype=np.float32)).reshape(keys.shape)
        # one query gives a single Matches (no counts), several give BatchMatches
        counts = getattr(matches, "counts", [len(matches.keys)])
        found = np.arange(keys.shape[1]) < np.asarray(counts).reshape(-1, 1)
        return np.where(found, keys, -1), np.where(found, scores, -np.inf).astype(np.float32)


def index_state(collection: Collection, index_path: str | os.PathLike[str]) -> dict[str, Any]:
    """Whether the index at ``index_path`` answers for ``collection``, from its metadata alone
    (``jsonvec info --index``): ``current``; ``behind`` (the collection's files start with
    those it was built from, and more were added since: ``added`` rows); or ``unusable``,
    with why (``error``)."""
    path = Path(index_path)
    state: dict[str, Any] = {"path": str(path)}
    try:
        meta = _read_meta(path, collection)
        built = meta.get("files") or []
        now = describe(collection.files, path.parent)
        if _same(built, now):
            return {**state, "state": "current", "rows": meta.get("count")}
        added = _added(built, now)
        if added is not None:
            return {**state, "state": "behind", "rows": meta.get("count"), "added": added}
        _refuse(path, collection.files, built, now)
    except AnnIndexError as exc:
        return {**state, "state": "unusable", "error": str(exc)}
    except (OSError, TypeError, KeyError, ValueError) as exc:  # metadata of the wrong shape
        return {**state, "state": "unusable", "error": f"{path}: cannot read index: {exc}"}
