from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from jsonvec.codebook.atoms import atom, atom_entries
from jsonvec.codebook.hashing import hash_texts, hash_windows, kind_key, mix


def test_atom_is_sparse_ternary_and_unit() -> None:
    a = atom(0, "str", "Paris", 1024, 8)
    assert np.count_nonzero(a) == 8
    assert set(np.unique(a[a != 0]).tolist()) <= {-1 / math.sqrt(8), 1 / math.sqrt(8)}
    assert math.isclose(float(np.dot(a, a)), 1.0)
    # one entry in each block of 128 coordinates
    assert np.count_nonzero(a.reshape(8, 128), axis=1).tolist() == [1] * 8


def test_dense_atoms_when_every_coordinate_is_a_block() -> None:
    a = atom(0, "str", "Paris", 64, 64)
    assert set(np.unique(a).tolist()) == {-1 / 8, 1 / 8}


def test_atom_depends_on_seed_kind_and_symbol() -> None:
    base = atom(0, "str", "x", 512, 512)
    for other in (
        atom(1, "str", "x", 512, 512),
        atom(0, "word", "x", 512, 512),
        atom(0, "str", "y", 512, 512),
    ):
        assert abs(float(np.dot(base, other))) < 0.25


def test_hashes_are_pinned() -> None:
    # a change here changes every vector jsonvec writes
    assert int(mix(np.array([1], dtype=np.uint64))[0]) == 6238072747940578789
    assert hex(int(kind_key(0, "str"))) == "0xf86434d1ea1f47f9"
    assert hex(int(hash_texts(["Paris"], kind_key(0, "str"))[0])) == "0xb9cfb05a3947324d"


@given(st.integers(1, 64))
def test_distinct_atoms_are_nearly_orthogonal(k: int) -> None:
    atoms = np.stack([atom(5, "str", f"s{i}", 1024, k) for i in range(200)])
    gram = atoms @ atoms.T
    off = gram[~np.eye(200, dtype=bool)]
    assert abs(float(off.mean())) < 0.01
    assert 0.015 < float(off.std()) < 0.05  # ~ 1/sqrt(1024) whatever k


@given(st.lists(st.text(max_size=6), max_size=12))
def test_text_hashes_do_not_depend_on_the_batch(texts: list[str]) -> None:
    key = kind_key(3, "word")
    together = hash_texts(texts, key)
    alone = [int(hash_texts([t], key)[0]) for t in texts]
    assert together.tolist() == alone


@given(st.lists(st.text(max_size=8), max_size=8), st.integers(1, 4))
def test_windows_hash_like_their_text(texts: list[str], n: int) -> None:
    key = kind_key(0, "gram")
    owners, hashes = hash_windows(texts, n, key)
    expected_owners, expected = [], []
    for i, text in enumerate(texts):
        windows = [text[j : j + n] for j in range(len(text) - n + 1)] or [text]
        for window in windows:
            expected_owners.append(i)
            expected.append(int(hash_windows([window], n, key)[1][0]))
    assert owners.tolist() == expected_owners
    assert hashes.tolist() == expected


def test_lone_surrogates_hash() -> None:
    assert hash_texts(["\ud800"], kind_key(0, "str")).shape == (1,)


def test_entries_are_one_per_block() -> None:
    positions, values = atom_entries(np.arange(5, dtype=np.uint64), 64, 4)
    assert positions.shape == values.shape == (5, 4)
    assert ((positions // 16) == np.arange(4)).all()
