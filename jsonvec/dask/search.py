"""Exact search of a collection on a Dask cluster: each file's top k on the workers, merged.

For collections larger than one machine's memory or disk bandwidth: every worker reads the files it
is given chunk by chunk and keeps each query's best k, as :func:`jsonvec.search.exact.top_k` does in
one process; the client merges the k best of every file. Scores are the same products of the same
chunks, and ties go to the lower row, so the hits are those of a search on one machine.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec.dask.cluster import run_tasks
from jsonvec.search.exact import CHUNK_ROWS, Indices, Scores, top_k
from jsonvec.storage.collection import Collection, open_vector_file
from jsonvec.storage.vector_files import chunked


def _file_top_k(
    path: str, first_row: int, queries: NDArray[np.float32], k: int
) -> tuple[Indices, Scores]:
    """The best ``k`` rows of one vectors file for each query, numbered in the collection."""
    found = open_vector_file(Path(path))
    return top_k(chunked(found.chunks(CHUNK_ROWS), first_row), queries, k)


def merge(results: list[tuple[Indices, Scores]], k: int) -> tuple[Indices, Scores]:
    """The best ``k`` of several top-k lists (score first, then the lower row)."""
    rows = np.concatenate([r for r, _ in results], axis=1)
    scores = np.concatenate([s for _, s in results], axis=1)
    order = np.lexsort((rows, -scores), axis=1)[:, :k]
    return np.take_along_axis(rows, order, 1), np.take_along_axis(scores, order, 1)


class ClusterSearch:
    """A searcher (:class:`jsonvec.search.exact.Searcher`) over ``collection`` whose work is done
    file by file on the cluster of ``client`` (a ``distributed.Client``; None: Dask's
    current scheduler). The files must be readable by the workers at the same paths.

    Examples
    --------
    >>> import pathlib, tempfile, jsonvec
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "in.jsonl").write_text('{"n": 1}\\n{"m": 2}\\n')
    >>> _ = jsonvec.encode_file(folder / "in.jsonl", folder / "v.npy")
    >>> search = ClusterSearch(Collection.open([str(folder / "v.npy")]))
    >>> search.search(jsonvec.encode_batch([{"m": 2}]), 1)[0].tolist()
    [[1]]
    """

    def __init__(self, collection: Collection, client: Any = None) -> None:
        self.collection = collection
        self.client = client

    def search(self, queries: NDArray[np.float32], k: int) -> tuple[Indices, Scores]:
        delayed: Any = importlib.import_module("dask.delayed").delayed
        shared = delayed(queries, pure=True)  # sent once, not once per file
        tasks = [
            delayed(_file_top_k, pure=True)(str(file.path), int(offset), shared, k)
            for file, offset in zip(self.collection.files, self.collection.offsets, strict=False)
            if file.count
        ]
        if not tasks:
            n = queries.shape[0]
            return np.empty((n, 0), dtype=np.int64), np.empty((n, 0), dtype=np.float32)
        return merge(run_tasks(self.client, False, tasks), k)
