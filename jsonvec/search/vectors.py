"""Vectors read back for Python: ids, vectors, codebook, records, tables, and search by id.

:func:`load` opens what ``jsonvec encode`` (or :func:`jsonvec.encode_file`) wrote; the
:class:`Vectors` it returns reads each part only when asked (ids, the vector matrix, the
records), and searches with the codebook the vectors were encoded with, answering with ids.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from numpy.typing import NDArray

from jsonvec._utils import arguments
from jsonvec.codebook.codebook import Codebook
from jsonvec.encoding.encoder import encoder_for
from jsonvec.errors import ArgumentError, CodebookMismatchError, EncodeError, SearchError
from jsonvec.search.exact import Searcher
from jsonvec.search.similar import HitLists, conditions, find
from jsonvec.search.where import Condition
from jsonvec.storage.collection import Collection
from jsonvec.storage.layout import ID_COLUMN, METADATA_KEY, RECORD_COLUMN, VECTOR_COLUMN
from jsonvec.storage.parquet.arrays import vectors_table
from jsonvec.storage.summary import summary
from jsonvec.storage.vector_files import NpyVectors, check_encoding
from jsonvec.version import ENCODING

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

PathLike = str | os.PathLike[str]


def load(paths: PathLike | Sequence[PathLike], *, index: PathLike | None = None) -> Vectors:
    """Open vectors written by ``jsonvec encode``.

    Parameters
    ----------
    paths : path, or list of paths
        ``.parquet``, ``.npy`` (with its ``.ids`` and ``.meta`` beside it) or ``.jsonl``
        files, folders of parts, or glob patterns; they must share one codebook.
    index : path, optional
        An ANN index built over the same files (``jsonvec index build``): searches go
        through it instead of comparing every vector.

    Returns
    -------
    Vectors
        Nothing but the files' metadata is read until an attribute asks for more.

    Raises
    ------
    VectorsError
        For a missing, damaged or foreign file, or files of different codebooks.
    AnnIndexError
        For an index that is missing, damaged, or built over other files.

    Examples
    --------
    >>> import pathlib, tempfile, jsonvec
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "in.jsonl").write_text('{"id": "a", "x": 1}\\n{"id": "b", "x": 2}\\n')
    >>> _ = jsonvec.encode_file(folder / "in.jsonl", folder / "v.npy", id_field="id")
    >>> vectors = jsonvec.load(folder / "v.npy")
    >>> vectors.ids, vectors.vectors.shape
    (['a', 'b'], (2, 1024))
    """
    collection = Collection.open(arguments.paths(paths, "paths"))
    index = arguments.optional_path(index, "index")
    ann = None
    if index is not None:
        from jsonvec.search.ann import AnnIndex  # noqa: PLC0415 - the ANN extra, when asked for

        ann = AnnIndex(collection, index)
    return Vectors(collection, ann)


class Vectors:
    """Stored vectors with their ids, codebook and (if kept) records.

    Parameters
    ----------
    collection : Collection
        The files, opened (:meth:`Collection.open`); :func:`load` does this.
    ann : Searcher, optional
        An approximate index over the same rows.

    Attributes
    ----------
    collection : Collection
    dim : int
    fingerprint : str or None
        The fingerprint of the codebook that encoded the vectors, where the files say.
    """

    def __init__(self, collection: Collection, ann: Searcher | None = None) -> None:
        self.collection = collection
        self._ann = ann
        self.dim = collection.dim
        self.fingerprint = collection.fingerprint
        self._ids: list[Any] | None = None
        self._vectors: NDArray[np.float32] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (and copied) as what it was opened from: the files, and the index with
        its breadth, opened and checked again where it is unpickled (the vectors are not
        copied; the files must be there)."""
        from jsonvec.search.ann import AnnIndex  # noqa: PLC0415 - the ANN extra, when there is one

        if self._ann is not None and not isinstance(self._ann, AnnIndex):
            raise ArgumentError(
                "Vectors searched through a searcher of their own cannot be pickled"
            )
        index = None if self._ann is None else (str(self._ann.path), self._ann.expansion_search)
        return (_reopen, ([str(p) for p in self.files], index))

    def __len__(self) -> int:
        return self.collection.count

    def __repr__(self) -> str:
        files = ", ".join(str(f.path) for f in self.collection.files[:3])
        more = ", ..." if len(self.collection.files) > 3 else ""
        return (
            f"Vectors(count={len(self)}, dim={self.dim}, codebook={self.fingerprint!r}, "
            f"files=[{files}{more}])"
        )

    def info(self, *, check: bool = False) -> dict[str, Any]:
        """What these vectors hold, as ``jsonvec info --json`` says it: rows, dim, dtype,
        codebook and its parameters, encoding, id type, records, parts, bytes, the state of
        the checksums (``verified``, ``unverified`` or ``none``) and of the index they were
        loaded with.

        ``check`` reads every vector first and compares its checksum
        (:class:`~jsonvec.errors.VectorsError` for one that does not match).

        Examples
        --------
        >>> import pathlib, tempfile, jsonvec
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "in.jsonl").write_text('{"id": "a"}\\n{"id": "b"}\\n')
        >>> _ = jsonvec.encode_file(folder / "in.jsonl", folder / "v.npy", id_field="id")
        >>> found = jsonvec.load(folder / "v.npy").info(check=True)
        >>> found["rows"], found["dim"], found["id_type"], found["checksum"]
        (2, 1024, 'string', 'verified')
        """
        name = ", ".join(str(path) for path in self.files)
        found = summary(self.collection, name, check=arguments.flag(check, "check"))
        if self._ann is not None and hasattr(self._ann, "path"):
            from jsonvec.search.ann import index_state  # noqa: PLC0415 - the ANN extra

            found["index"] = index_state(self.collection, self._ann.path)
        return found

    @property
    def files(self) -> list[Path]:
        """The vectors files, in row order."""
        return [f.path for f in self.collection.files]

    @property
    def ids(self) -> list[Any]:
        """Every row's id, in row order: record positions (int) or ``--id-field`` values."""
        if self._ids is None:
            self._ids = [rid for file in self.collection.files for rid in file.ids()]
        return self._ids

    @property
    def vectors(self) -> NDArray[np.float32]:
        """Every row's vector: ndarray of shape (count, dim), float32, read-only.

        One ``.npy`` file is memory-mapped (nothing is read until used; its checksum is not
        checked then: ``jsonvec similar`` and :meth:`search` check it as they read); other
        files are read into memory, their checksums checked.
        """
        if self._vectors is None:
            self._vectors = self._read_vectors()
        return self._vectors

    def _read_vectors(self) -> NDArray[np.float32]:
        files = self.collection.files
        if len(files) == 1 and isinstance(files[0], NpyVectors):
            mapped: NDArray[np.float32] = np.load(files[0].path, mmap_mode="r")
            if mapped.dtype == np.float32:
                return mapped
        out = np.empty((len(self), self.dim), dtype=np.float32)
        for start, block in self.collection.chunks():
            out[start : start + len(block)] = block
        out.flags.writeable = False
        return out

    @property
    def codebook(self) -> Codebook | None:
        """The codebook that encoded the vectors, rebuilt from their metadata; None where the
        files do not store its parameters (JSON Lines, files of jsonvec 0.2)."""
        return self.collection.codebook()

    @property
    def has_records(self) -> bool:
        """Whether the records were kept (``encode --keep-records``)."""
        return self.collection.has_records

    @property
    def records(self) -> list[Any] | None:
        """Every row's record (parsed JSON) in row order, or None if they were not kept."""
        if not self.has_records:
            return None
        return list(self.collection.all_records())

    def to_arrow(self) -> pa.Table:
        """A table of columns ``id``, ``vector`` (fixed-size lists of float32) and, if kept,
        ``record`` (JSON text), with the vectors' metadata (codebook) in its schema."""
        records = self.records
        texts = None if records is None else [orjson.dumps(r).decode() for r in records]
        return vectors_table(self.ids, self.vectors, texts, orjson.dumps(self._metadata()))

    def to_pandas(self) -> pd.DataFrame:
        """A DataFrame of columns ``id``, ``vector`` (one float32 array per row) and, if kept,
        ``record`` (parsed JSON). Needs pandas."""
        import pandas as pd  # noqa: PLC0415 - an optional dependency

        data: dict[str, Any] = {ID_COLUMN: self.ids, VECTOR_COLUMN: list(self.vectors)}
        records = self.records
        if records is not None:
            data[RECORD_COLUMN] = records
        return pd.DataFrame(data)

    def _metadata(self) -> dict[str, Any]:
        first = self.collection.files[0]
        meta: dict[str, Any] = {
            "dim": self.dim,
            "codebook": self.fingerprint,
            "encoding": ENCODING,  # every file was checked for it at open
        }
        if first.params is not None:
            meta["codebook_params"] = first.params
        return meta

    # -- search

    def search(
        self,
        records: Iterable[Any] | Mapping[str, Any],
        k: int = 10,
        *,
        codebook: Codebook | None = None,
        include_records: bool = False,
        where: Mapping[str, Any] | Sequence[str] | None = None,
        by_field: bool = False,
    ) -> HitLists:
        """The ``k`` stored records most like each query record.

        Parameters
        ----------
        records : iterable of records, or one dict
            The queries, encoded with the vectors' own codebook. A dict alone is one query;
            a list is several (as for :func:`jsonvec.encode_batch`), so a query that is
            itself a JSON array goes inside a list.
        k : int
            Hits per query.
        codebook : Codebook, optional
            Needed only when the files do not store their codebook's parameters; must be
            the one that encoded them.
        include_records : bool
            Give each hit its stored record (the vectors must keep them).
        where : dict of path to value, or list of ``PATH=VALUE`` texts, optional
            Keep only records that hold every value at its path (``{"city": "Paris"}``, as
            ``similar --where``): exactly from the stored records, else read back from the
            vectors (the warnings say so).
        by_field : bool
            Rank the stored records (the vectors must keep them) field by field against each
            query, ties broken by cosine (as ``similar --by-field``): for partial queries
            on wide records, and mistyped ones.

        Returns
        -------
        HitLists
            One list per query, best first; a hit has ``id``, ``score`` (cosine), ``rank``
            (from 1), ``row`` and ``record``. Its ``warnings`` say what may be wrong with
            the hits (best hits that score no higher than unrelated records can, a query
            path no stored record holds), or why a query found none.

        Raises
        ------
        CodebookMismatchError
            When ``codebook`` is not the one that encoded the vectors.
        UsageError
            For ``by_field`` on vectors without their records.
        WhereError, PathError
            For a ``where`` condition that cannot be read.

        Examples
        --------
        >>> import pathlib, tempfile, jsonvec
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> rows = '{"id": "a", "city": "Paris"}\\n{"id": "b", "city": "Lyon"}\\n'
        >>> _ = (folder / "in.jsonl").write_text(rows)
        >>> _ = jsonvec.encode_file(folder / "in.jsonl", folder / "v.parquet", id_field="id")
        >>> [hit.id for hit in jsonvec.load(folder / "v.parquet").search({"city": "Pari"})[0]]
        ['a', 'b']
        """
        if isinstance(records, Mapping):
            records = [records]
        queries = arguments.batch(records, "records", _ONE_QUERY.format(shown=_example(records)),
                                  SearchError)  # fmt: skip
        arguments.instance(codebook, "codebook", Codebook, "a Codebook")
        book = self.collection.query_codebook(codebook)
        try:
            vectors = encoder_for(book).encode_batch(queries)
        except EncodeError as exc:
            raise SearchError(f"a query cannot be encoded: {exc}") from exc
        filters = conditions(where)
        fields = queries if arguments.flag(by_field, "by_field") else None
        return self._hits(vectors, k, include_records, book, filters, fields)

    def search_vectors(
        self,
        queries: Any,
        k: int = 10,
        *,
        codebook: Codebook | str | None = None,
        include_records: bool = False,
    ) -> HitLists:
        """The ``k`` stored vectors nearest to each query vector, by cosine similarity.

        Parameters
        ----------
        queries : array of shape (n_queries, dim) or (dim,), a Vectors, or a table from
            :meth:`to_arrow`
            A :class:`Vectors` or a table carries its codebook, and is refused if that is not
            the one of these vectors.
        k : int
            Hits per query.
        codebook : Codebook or fingerprint, optional
            The codebook that encoded a plain array of queries, checked against the vectors'.
        include_records : bool
            Give each hit its stored record (the vectors must keep them).

        Returns
        -------
        HitLists
            One list per query, best first, with ``warnings`` (see :meth:`search`).

        Raises
        ------
        SearchError
            When the queries' dimension is not the vectors'.
        CodebookMismatchError
            When the queries carry (or ``codebook`` names) another codebook.
        """
        array, carried = _query_array(queries)
        if codebook is not None and not isinstance(codebook, Codebook | str):
            raise ArgumentError(
                f"codebook must be a Codebook or a fingerprint, not {type(codebook).__name__}"
            )
        named = codebook.fingerprint if isinstance(codebook, Codebook) else codebook
        for fingerprint in (carried, named):
            if None not in (fingerprint, self.fingerprint) and fingerprint != self.fingerprint:
                raise CodebookMismatchError(
                    f"the vectors were encoded with codebook {self.fingerprint}, but the "
                    f"queries with codebook {fingerprint}"
                )
        return self._hits(array, k, include_records)

    def _hits(
        self,
        queries: Any,
        k: int,
        include_records: bool,
        codebook: Codebook | None = None,
        where: Sequence[Condition] = (),
        by_field: Sequence[Any] | None = None,
    ) -> HitLists:
        if include_records and not self.has_records:
            raise SearchError("include_records needs vectors written with encode --keep-records")
        k = arguments.integer(k, "k", 0)
        arguments.flag(include_records, "include_records")
        q = arguments.matrix(queries, "queries", self.dim, SearchError)
        if len(self) == 0 or k == 0 or q.shape[0] == 0:
            return HitLists([] for _ in range(q.shape[0]))
        searcher = self._ann if not (where or by_field is not None) else None  # exact: all rows
        results = find(self.collection, q, k, codebook=codebook, by_field=by_field, where=where,
                       searcher=searcher, records=include_records)  # fmt: skip
        return HitLists.of(results)


_ONE_QUERY = "search([{shown}]) for one query, a list of records for several"


def _reopen(files: list[str], index: tuple[str, int] | None) -> Vectors:
    """:class:`Vectors` opened again from their files (and index): what unpickling does."""
    collection = Collection.open(files)
    if index is None:
        return Vectors(collection)
    from jsonvec.search.ann import AnnIndex  # noqa: PLC0415 - the ANN extra

    return Vectors(collection, AnnIndex(collection, index[0], index[1]))


def _example(value: object) -> str:
    """How a query is shown in the hint: the value itself when short."""
    shown = orjson.dumps(value).decode() if isinstance(value, str) else repr(value)
    return shown if len(shown) <= 30 else "query"


def _query_array(queries: Any) -> tuple[Any, str | None]:
    """The query vectors, and the fingerprint of their codebook where they carry it."""
    if isinstance(queries, Vectors):
        return queries.vectors, queries.fingerprint
    schema = getattr(queries, "schema", None)
    metadata = getattr(schema, "metadata", None)
    if metadata is not None and hasattr(queries, "column"):  # a table from to_arrow()
        meta = orjson.loads(metadata.get(METADATA_KEY.encode(), b"{}"))
        check_encoding("the queries' table", meta.get("encoding"), "queries")
        vectors = queries.column(VECTOR_COLUMN).combine_chunks()
        array = vectors.values.to_numpy().reshape(len(vectors), -1)
        return array, meta.get("codebook")
    return queries, None
