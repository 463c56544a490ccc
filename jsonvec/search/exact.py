"""Nearest-neighbour search: exact cosine in numpy by default, an ANN index when given one.

Stored vectors are unit length, so cosine similarity is a dot product. Exact search walks the
collection chunk by chunk: one matrix product per chunk answers every query, ``argpartition``
keeps each query's best k, and memory stays bounded by the chunk size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from jsonvec._utils import arguments
from jsonvec.errors import SearchError
from jsonvec.storage.collection import Collection

Indices = NDArray[np.int64]
Scores = NDArray[np.float32]
#: rows of a collection scored at once by exact search (memory: this many times dim floats)
CHUNK_ROWS = 1 << 16
#: rows of scores gathered per query before the best k are picked from them
SELECT_ROWS = 1 << 14
#: and at most this many bytes of them (a batch of many queries gathers fewer rows)
SELECT_BYTES = 64 << 20


class Searcher(Protocol):
    """Anything that answers ``search(queries, k)`` over a collection's rows."""

    def search(self, queries: NDArray[np.float32], k: int) -> tuple[Indices, Scores]: ...


def top_k(
    chunks: Iterable[tuple[int, NDArray[np.float32]]], queries: NDArray[np.float32], k: int
) -> tuple[Indices, Scores]:
    """Exact top-k by dot product over ``(first row, block)`` chunks.

    Parameters
    ----------
    chunks : iterable of (int, ndarray of shape (m, dim), float32)
    queries : ndarray of shape (n_queries, dim), float32
    k : int

    Returns
    -------
    indices : ndarray of shape (n_queries, min(k, rows)), int64, best first
    scores : ndarray of the same shape, float32

    Ties are broken by the lower row number, so results do not depend on chunking.

    >>> q = np.array([[1.0, 0.0]], dtype=np.float32)
    >>> v = np.array([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    >>> top_k([(0, v[:2]), (2, v[2:])], q, 2)[0].tolist()
    [[1, 2]]
    """
    n = queries.shape[0]
    best_rows = np.empty((n, 0), dtype=np.int64)
    best_scores = np.empty((n, 0), dtype=np.float32)
    # scores of consecutive blocks (pages of a Parquet file are small) gathered before a
    # selection, which costs the same for a few rows as for many; at most SELECT_BYTES of them
    span = max(1, min(SELECT_ROWS, SELECT_BYTES // (4 * max(n, 1))))
    gathered: NDArray[np.float32] | None = None
    first = filled = 0
    for start, block in chunks:
        m = block.shape[0]
        if filled and (filled + m > span or start != first + filled):
            assert gathered is not None
            best_rows, best_scores = _merge(best_rows, best_scores, first, gathered[:, :filled], k)
            filled = 0
        if m > span:  # a block bigger than the buffer: scored on its own
            scores = (queries @ block.T).astype(np.float32)
            best_rows, best_scores = _merge(best_rows, best_scores, start, scores, k)
            continue
        if gathered is None:
            gathered = np.empty((n, span), dtype=np.float32)
        if not filled:
            first = start
        np.matmul(queries, block.T, out=gathered[:, filled : filled + m])
        filled += m
    if filled and gathered is not None:
        best_rows, best_scores = _merge(best_rows, best_scores, first, gathered[:, :filled], k)
    order = np.lexsort((best_rows, -best_scores), axis=1)
    return np.take_along_axis(best_rows, order, 1), np.take_along_axis(best_scores, order, 1)


def _merge(
    best_rows: Indices, best_scores: Scores, start: int, scores: Scores, k: int
) -> tuple[Indices, Scores]:
    """The k best of those kept so far and of ``scores``, the rows from ``start`` on."""
    rows = np.broadcast_to(np.arange(start, start + scores.shape[1], dtype=np.int64), scores.shape)
    best_rows = np.concatenate([best_rows, rows], axis=1)
    best_scores = np.concatenate([best_scores, scores], axis=1)
    if best_scores.shape[1] > k:
        keep = _best(best_rows, best_scores, k)
        best_rows = np.take_along_axis(best_rows, keep, axis=1)
        best_scores = np.take_along_axis(best_scores, keep, axis=1)
    return best_rows, best_scores


def _best(rows: Indices, scores: Scores, k: int) -> NDArray[np.intp]:
    """Column positions of each row's k best (score desc, row asc), unordered."""
    if k == 0:
        return np.empty((rows.shape[0], 0), dtype=np.intp)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    chosen = np.take_along_axis(scores, part, 1)
    kth = chosen.min(axis=1, keepdims=True)
    # argpartition picks arbitrarily among scores tied with the k-th: redo those queries
    ties = (scores == kth).sum(axis=1) > (chosen == kth).sum(axis=1)
    for i in np.flatnonzero(ties):
        above = np.flatnonzero(scores[i] > kth[i])
        tied = np.flatnonzero(scores[i] == kth[i])
        tied = tied[np.argsort(rows[i, tied], kind="stable")][: k - len(above)]
        part[i] = np.concatenate([above, tied])
    return part


class CollectionSearch:
    """Search over a :class:`Collection` by row number: exact by default, or through an ANN
    index. (:meth:`jsonvec.Vectors.search` answers with ids and checks the codebook.)

    Parameters
    ----------
    collection : Collection
    ann : Searcher, optional
        An approximate index over the same rows (see :mod:`jsonvec.search.ann`).
    chunk_rows : int
        Rows per chunk in exact search; bounds memory.

    Examples
    --------
    >>> import pathlib, tempfile, jsonvec
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "in.jsonl").write_text('{"n": 1}\\n{"n": 2}\\n{"m": 3}\\n')
    >>> _ = jsonvec.encode_file(folder / "in.jsonl", folder / "v.npy")
    >>> search = CollectionSearch(Collection.open([str(folder / "v.npy")]))
    >>> rows, scores = search.search(jsonvec.encode({"n": 2}), 2)
    >>> rows.tolist()
    [[1, 0]]
    """

    def __init__(
        self, collection: Collection, ann: Searcher | None = None, chunk_rows: int = CHUNK_ROWS
    ) -> None:
        self.collection = collection
        self.ann = ann
        self.chunk_rows = chunk_rows

    def search(self, queries: NDArray[np.floating], k: int) -> tuple[Indices, Scores]:
        """The k nearest rows to each query by cosine similarity.

        Parameters
        ----------
        queries : ndarray of shape (n_queries, dim) or (dim,)
        k : int

        Returns
        -------
        indices : ndarray of shape (n_queries, min(k, count)), int64, best first
        scores : ndarray of the same shape, float32

        Raises
        ------
        SearchError
            When the queries' dimension is not the vectors'.
        """
        q = arguments.matrix(queries, "queries", self.collection.dim, SearchError)
        k = arguments.integer(k, "k", 0)
        norms = np.linalg.norm(q, axis=1, keepdims=True)
        q = (q / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        k = min(k, self.collection.count)
        if self.ann is not None:
            return self.ann.search(q, k)
        return top_k(self.collection.chunks(self.chunk_rows), q, k)


def noise_ceiling(count: int, dim: int) -> float:
    """The score a hit must pass to stand clearly above unrelated records.

    The cosine of a query with an unrelated record is noise of spread ``1/sqrt(dim)``; the
    largest of ``count`` such scores reaches about ``sqrt(2 ln count)`` spreads, and a
    margin of 2 more keeps the true holder first. Measured on records of n random words at
    dim 1024 (500 records, one-field queries; docs/partial.md): the holder ranks first for
    99% of queries at ``sqrt(dim / n)`` = 5.66 (32 fields), 91% at 4.62, 51% at 3.27, where
    a field's own signal is ``1/sqrt(n)``; this ceiling is 5.53 spreads for 500 records.

    >>> round(noise_ceiling(500, 1024), 3)
    0.173
    """
    spreads = math.sqrt(2.0 * math.log(max(count, 2))) + 2.0
    return spreads / math.sqrt(dim)
