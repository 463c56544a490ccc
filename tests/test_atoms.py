from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from jsonvec.atoms import atom, atom_bits, bundle, digest


def test_atom_is_bipolar_and_unit() -> None:
    a = atom(0, "str", "Paris", 1024)
    assert set(np.unique(a).tolist()) == {-1 / 32, 1 / 32}
    assert float(np.dot(a, a)) == 1.0


def test_atom_depends_on_seed_kind_and_symbol() -> None:
    base = atom(0, "str", "x", 512)
    for other in (atom(1, "str", "x", 512), atom(0, "word", "x", 512), atom(0, "str", "y", 512)):
        assert abs(float(np.dot(base, other))) < 0.25


def test_digest_is_pinned() -> None:
    # a change here changes every vector jsonvec has ever written
    assert digest(0, "str", "Paris", 8).hex() == digest(0, "str", b"Paris", 8).hex()
    assert digest(0, "str", "Paris", 8).hex() == "13bcd5203d147cb6"


def test_distinct_atoms_are_nearly_orthogonal() -> None:
    atoms = np.stack([atom(5, "str", f"s{i}", 1024) for i in range(200)])
    gram = atoms @ atoms.T
    off = gram[~np.eye(200, dtype=bool)]
    assert abs(float(off.mean())) < 0.01
    assert 0.02 < float(off.std()) < 0.04  # ~ 1/sqrt(1024)


@given(st.lists(st.text(max_size=5), max_size=12))
def test_bundle_is_the_sum_of_atoms_in_any_order(symbols: list[str]) -> None:
    expected = sum((atom(1, "gram", s, 64) for s in symbols), np.zeros(64))
    assert np.array_equal(bundle(1, "gram", symbols, 64), expected)
    assert np.array_equal(bundle(1, "gram", symbols[::-1], 64), expected)


def test_atom_bits_handle_lone_surrogates() -> None:
    assert atom_bits(0, "str", "\ud800", 64).shape == (64,)
