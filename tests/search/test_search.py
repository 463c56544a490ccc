from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jsonvec import Codebook, encode_batch
from jsonvec.search import exact
from jsonvec.search.exact import CollectionSearch, SearchError, top_k
from jsonvec.storage.collection import Collection
from tests.helpers import write_vectors


def brute_force(vectors: np.ndarray, queries: np.ndarray, k: int) -> list[list[int]]:
    scores = queries @ vectors.T
    return [sorted(range(len(vectors)), key=lambda r, s=s: (-s[r], r))[:k] for s in scores.tolist()]


small_ints = st.integers(-2, 2).map(float)


@given(
    arrays(np.float32, st.tuples(st.integers(0, 30), st.just(3)), elements=small_ints),
    arrays(np.float32, st.tuples(st.integers(1, 4), st.just(3)), elements=small_ints),
    st.integers(0, 8),
    st.integers(1, 7),
    st.integers(1, 12),
    st.booleans(),
)
def test_top_k_is_exact_with_ties_broken_by_row(
    vectors: np.ndarray, queries: np.ndarray, k: int, chunk: int, select: int, by_bytes: bool
) -> None:
    """Whatever the blocks, and however many rows of scores are gathered before each pick,
    bounded by rows or by bytes (blocks bigger than that are scored on their own)."""
    chunks = [(s, vectors[s : s + chunk]) for s in range(0, len(vectors), chunk)]
    kept = exact.SELECT_ROWS, exact.SELECT_BYTES
    if by_bytes:
        exact.SELECT_BYTES = 4 * len(queries) * select
    else:
        exact.SELECT_ROWS = select
    try:
        rows, scores = top_k(chunks, queries, k)
    finally:
        exact.SELECT_ROWS, exact.SELECT_BYTES = kept
    assert rows.shape == (len(queries), min(k, len(vectors)))
    assert rows.tolist() == brute_force(vectors, queries, k)
    expected = np.take_along_axis(queries @ vectors.T, rows, 1) if len(vectors) else scores
    assert np.allclose(scores, expected)


def test_top_k_of_blocks_that_do_not_follow_each_other() -> None:
    """Rows are numbered by each block's start, gaps and all."""
    q = np.array([[1.0, 0.0]], dtype=np.float32)
    blocks = [(10, np.array([[0.5, 0.0], [0.9, 0.0]], np.float32)),
              (40, np.array([[0.7, 0.0]], np.float32))]  # fmt: skip
    rows, scores = top_k(blocks, q, 3)
    assert rows.tolist() == [[11, 40, 10]]
    assert np.allclose(scores, [[0.9, 0.7, 0.5]])


@pytest.fixture
def people(tmp_path: Path, samples: Path) -> Path:
    return write_vectors(tmp_path / "people.parquet", samples / "people.jsonl")


def test_index_search_finds_the_record_itself(people: Path, samples: Path) -> None:
    index = CollectionSearch(Collection.open([str(people)]), chunk_rows=5)
    vectors = np.stack([index.collection.vector(r) for r in range(12)])
    rows, scores = index.search(vectors, 3)
    assert rows[:, 0].tolist() == list(range(12))
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_single_query_and_large_k(people: Path) -> None:
    index = CollectionSearch(Collection.open([str(people)]))
    rows, scores = index.search(index.collection.vector(0) * 3.0, 100)
    assert rows.shape == scores.shape == (1, 12)
    assert rows[0, 0] == 0
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_partial_query_ranks_holders_first(people: Path) -> None:
    index = CollectionSearch(Collection.open([str(people)]))
    rows, _ = index.search(encode_batch([{"city": "Madrid"}]), 2)
    assert sorted(index.collection.ids(rows[0].tolist())) == ["p03", "p04"]


def test_wrong_dimension(people: Path) -> None:
    with pytest.raises(SearchError, match="queries have dim 8, the vectors have dim 1024"):
        CollectionSearch(Collection.open([str(people)])).search(np.ones(8, dtype=np.float32), 1)


def test_empty_collection(tmp_path: Path) -> None:
    source = tmp_path / "empty.jsonl"
    source.write_bytes(b"")
    path = write_vectors(tmp_path / "empty.parquet", source, Codebook(dim=64))
    rows, scores = CollectionSearch(Collection.open([str(path)])).search(np.ones((2, 64)), 5)
    assert rows.shape == scores.shape == (2, 0)
