"""Collections of stored vectors: the outputs of ``jsonvec encode``, read back for search.

A collection is one or more vectors files (:mod:`jsonvec.storage.vector_files`), given as files,
folders or glob patterns. Their codebook fingerprints and dimensions must agree; rows are
numbered across the files in order. Vectors are read in chunks, so a collection larger than
memory can be searched.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec._utils import arguments
from jsonvec.codebook.codebook import Codebook, default_codebook
from jsonvec.codebook.settings import Settings
from jsonvec.errors import (
    AmbiguousIdError,
    ArgumentError,
    CodebookError,
    CodebookMismatchError,
    NotFoundError,
    VectorsError,
)
from jsonvec.storage.guard import Named
from jsonvec.storage.layout import MANIFEST
from jsonvec.storage.manifest import has_manifest, listed_parts
from jsonvec.storage.parquet.reader import ParquetVectors
from jsonvec.storage.vector_files import SUFFIXES, JsonlVectors, NpyVectors, VectorFile, chunked

#: what a folder contributes; a .jsonl file must be named (it could be an input of records)
FOLDER_SUFFIXES = (".parquet", ".npy")
_LISTED = 5  # places of an ambiguous id named in its error

__all__ = [
    "AmbiguousIdError",
    "Collection",
    "NotFoundError",
    "VectorFile",
    "VectorsError",
    "names_vectors",
    "open_vector_file",
    "resolve",
]


def open_vector_file(path: Path) -> VectorFile:
    """Read the metadata of one vectors file (not its vectors); the format from its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return ParquetVectors(path)
    if suffix == ".npy":
        return NpyVectors(path)
    if suffix == ".jsonl":
        return JsonlVectors(path)
    raise VectorsError(f"{path}: not a vectors file (expected .parquet, .npy or .jsonl)")


def _matches(pattern: str) -> list[Path]:
    """The vectors files ``pattern`` names (a file, a folder or a glob); [] for none."""
    path = Path(pattern)
    if path.is_dir():
        if has_manifest(path):
            return listed_parts(path)
        return sorted(p for p in path.iterdir() if p.suffix.lower() in FOLDER_SUFFIXES)
    if path.exists():
        return [path]
    found = [Path(p) for p in sorted(glob.glob(pattern))]
    return [p for p in found if p.suffix.lower() in SUFFIXES and p.is_file()]


def names_vectors(pattern: str) -> bool:
    """True when ``pattern`` is an existing file or folder, or a glob that matches a file
    (a name the system cannot look up, such as one too long, names nothing)."""
    try:
        return Path(pattern).exists() or bool(_matches(pattern))
    except OSError:
        return False


def resolve(patterns: Sequence[str]) -> list[Path]:
    """Files named by ``patterns``: files, folders (their vectors files) and globs, in order."""
    paths: list[Path] = []
    for pattern in patterns:
        found = _matches(pattern)
        if not found:
            what = "holds no vectors files" if Path(pattern).is_dir() else "no such vectors file"
            raise VectorsError(f"{pattern}: {what}")
        paths.extend(found)
    return paths


class Collection:
    """Vectors files searched as one, rows numbered across files in order.

    Parameters
    ----------
    files : list of VectorFile
        Must share one codebook fingerprint and dimension (empty files aside).

    :func:`jsonvec.load` wraps a collection in :class:`jsonvec.Vectors`, which answers with
    ids; a collection numbers rows.

    Examples
    --------
    >>> import pathlib, tempfile, jsonvec
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "in.jsonl").write_text('{"id": "a"}\\n{"id": "b"}\\n')
    >>> _ = jsonvec.encode_file(folder / "in.jsonl", folder / "v.parquet", id_field="id")
    >>> collection = Collection.open([str(folder / "v.parquet")])
    >>> collection.count, collection.find("b"), collection.ids([1, 0])
    (2, 1, ['b', 'a'])
    """

    def __init__(self, files: list[VectorFile]) -> None:
        if not files:
            raise VectorsError("no vectors files given")
        # an empty JSON Lines file knows neither its dim nor its codebook
        known = [f for f in files if f.count or f.fingerprint is not None] or files[:1]
        first = known[0]
        for other in known[1:]:
            if other.fingerprint != first.fingerprint:
                raise VectorsError(
                    f"{other.path} was encoded with codebook {other.fingerprint or '(unknown)'}, "
                    f"but {first.path} with codebook {first.fingerprint or '(unknown)'}: "
                    "they cannot be mixed"
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
        """Open the vectors files named by ``patterns`` (see :func:`resolve`): paths of
        files or folders, or glob patterns (one, or a list)."""
        return cls([open_vector_file(p) for p in resolve(arguments.paths(patterns, "patterns"))])

    def read_files(self) -> list[Named]:
        """Every file the collection reads: vectors files, their sidecars, the manifests of
        their folders (what no output may overwrite: :mod:`jsonvec.storage.guard`)."""
        named = [Named(role, str(path)) for f in self.files for role, path in f.read_paths()]
        folders = dict.fromkeys(f.path.parent for f in self.files)
        return named + [Named("manifest", str(d / MANIFEST)) for d in folders if has_manifest(d)]

    @property
    def has_records(self) -> bool:
        """True when every file keeps the original records."""
        return all(f.has_records for f in self.files)

    def codebook(self) -> Codebook | None:
        """The codebook the vectors were encoded with, rebuilt from their metadata.

        None when no file stores the codebook's parameters (JSON Lines, older files).
        Raises :class:`VectorsError` when the stored parameters do not give the stored
        fingerprint (damaged metadata).
        """
        for file in self.files:
            if file.params is None:
                continue
            try:
                params = file.params
                book = Codebook(
                    dim=params["dim"],
                    seed=params["seed"],
                    settings=Settings.from_dict(params.get("settings", {})),
                    family=params["family"],
                )
            except (KeyError, TypeError, CodebookError) as exc:
                raise VectorsError(f"{file.path}: codebook parameters are corrupted") from exc
            if book.fingerprint != file.fingerprint:
                raise VectorsError(
                    f"{file.path}: codebook parameters do not match the codebook fingerprint"
                )
            return book
        return None

    def query_codebook(self, codebook: Codebook | None = None, named: str = "") -> Codebook:
        """The codebook to encode queries of these vectors with.

        Without ``codebook``: the vectors' own (rebuilt from their metadata), or the built-in
        one where the metadata holds no parameters. With it: ``codebook``, if it is the one
        the vectors were encoded with. ``named`` is how messages call it (a file's name).

        Raises
        ------
        CodebookMismatchError
            When the codebook is not the one that encoded the vectors (by fingerprint, or by
            dimension where the vectors do not say which codebook encoded them).
        """
        stored = self.codebook()
        if codebook is None and stored is not None:
            return stored
        book = codebook if codebook is not None else default_codebook()
        named = named or ("the given codebook" if codebook is not None else "the built-in codebook")
        if self.fingerprint is not None and book.fingerprint != self.fingerprint:
            hint = (
                "pass the same --codebook"
                if stored is not None or codebook is not None
                else "their metadata does not hold its parameters: pass it with --codebook"
            )
            raise CodebookMismatchError(
                f"the vectors were encoded with codebook {self.fingerprint}, but the query "
                f"uses {named} ({book.fingerprint}); {hint}"
            )
        if book.dim != self.dim:
            raise CodebookMismatchError(f"codebook dim {book.dim} != vectors dim {self.dim}")
        return book

    def chunks(self, rows: int = 1 << 16) -> Iterator[tuple[int, NDArray[np.float32]]]:
        """``(first row, block)`` pairs covering the collection; block is (m, dim) float32.

        A full pass checks every file's checksum.
        """
        for file, offset in zip(self.files, self.offsets, strict=False):
            yield from chunked(file.chunks(rows), int(offset))

    def vector(self, row: int) -> NDArray[np.float32]:
        """The stored vector of a row: shape (dim,), float32."""
        file, local = self._locate(self._row(row))
        vector: NDArray[np.float32] = file.vectors_at([local])[0]
        return vector

    def vectors_at(self, rows: Sequence[int]) -> NDArray[np.float32]:
        """The stored vectors of ``rows`` (global row numbers), in that order: (len(rows),
        dim), float32, read from only the places that hold them (checked: Parquet pages by
        their checksums, an ``.npy`` file by its CRC once)."""
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        by_file: dict[int, list[int]] = {}
        for at, row in enumerate(self._rows(rows)):
            by_file.setdefault(self._file_index(row), []).append(at)
        for index, places in by_file.items():
            offset = int(self.offsets[index])
            local = [int(rows[at]) - offset for at in places]
            out[places] = self.files[index].vectors_at(local)
        return out

    def ids(self, rows: Sequence[int]) -> list[Any]:
        """The ids of ``rows`` (global row numbers), in the same order."""
        return self._values(self._rows(rows), "ids")

    def records(self, rows: Sequence[int]) -> list[Any]:
        """The original records of ``rows`` (parsed JSON), or None where none was kept."""
        return self._values(self._rows(rows), "records")

    def all_records(self) -> Iterator[Any]:
        """Every row's stored record (parsed JSON) in row order, streamed a row group at a
        time; None for rows whose file keeps none."""
        for file in self.files:
            yield from file.all_records()

    def sources(self, rows: Sequence[int]) -> list[str]:
        """The file each of ``rows`` comes from."""
        return [str(self._locate(row)[0].path) for row in rows]

    def _values(self, rows: Sequence[int], what: str) -> list[Any]:
        found: dict[int, Any] = {}
        by_file: dict[int, list[int]] = {}
        for row in rows:
            by_file.setdefault(self._file_index(row), []).append(row)
        for index, wanted in by_file.items():
            file, offset = self.files[index], int(self.offsets[index])
            local = [row - offset for row in wanted]
            values = file.ids_at(local) if what == "ids" else file.records_at(local)
            found.update(zip(wanted, values, strict=True))
        return [found[row] for row in rows]

    def find_all(self, wanted: str) -> list[int]:
        """Every row whose id is ``wanted`` (an integer id matches its decimal text)."""
        rows: list[int] = []
        for file, offset in zip(self.files, self.offsets, strict=False):
            rows += [int(offset) + local for local in file.find(wanted)]
        return rows

    def find(self, wanted: str | int) -> int:
        """The one row whose id is ``wanted`` (an integer id as an int or its decimal text).

        Raises :class:`NotFoundError` (with a hint when the id looks like a field's value
        but the ids are record positions) or :class:`AmbiguousIdError` naming where the id
        occurs when several records hold it.
        """
        if isinstance(wanted, int) and not isinstance(wanted, bool):
            wanted = str(wanted)
        wanted = arguments.text(wanted, "wanted")
        rows = self.find_all(wanted)
        if len(rows) == 1:
            return rows[0]
        if not rows:
            raise NotFoundError(f"id {wanted!r} is not in the vectors{self._hint(wanted)}")
        places = [f"{self._locate(r)[0].path} row {self._locate(r)[1]}" for r in rows[:_LISTED]]
        more = f" and {len(rows) - _LISTED} more" if len(rows) > _LISTED else ""
        raise AmbiguousIdError(
            f"id {wanted!r} is held by {len(rows)} records ({', '.join(places)}{more}); "
            "--id needs an id that one record holds"
        )

    def _hint(self, wanted: str) -> str:
        positional = all(f.id_type == "int" for f in self.files)
        if positional and not wanted.lstrip("-").isdigit():
            return (
                ": ids here are record positions (0, 1, 2, ...); to look records up by a "
                "field, encode with --id-field (e.g. --id-field id)"
            )
        return ""

    def _row(self, row: object) -> int:
        """A row number, checked: an integer from 0 to count - 1."""
        number = arguments.integer(row, "row")
        if not 0 <= number < self.count:
            raise ArgumentError(f"row {number} is not in the vectors (rows 0 to {self.count - 1})")
        return number

    def _rows(self, rows: object) -> list[int]:
        if isinstance(rows, str | bytes) or not isinstance(rows, Sequence | range | np.ndarray):
            raise ArgumentError(f"rows must be a list of row numbers, not {type(rows).__name__}")
        return [self._row(row) for row in rows]

    def _file_index(self, row: int) -> int:
        if not 0 <= row < self.count:
            raise IndexError(row)
        return int(np.searchsorted(self.offsets, row, side="right")) - 1

    def _locate(self, row: int) -> tuple[VectorFile, int]:
        index = self._file_index(row)
        return self.files[index], row - int(self.offsets[index])
