from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jsonvec.codebook.roles import SignedPermutation

DIM = 64
names = st.text(max_size=8)
vectors = arrays(np.float64, DIM, elements=st.floats(-1e3, 1e3, allow_nan=False))


def role(name: str, kind: str = "key") -> SignedPermutation:
    return SignedPermutation.from_seed(11, kind, name, DIM)


@given(names)
def test_role_is_exactly_orthogonal(name: str) -> None:
    q = role(name).matrix()
    assert np.array_equal(q.T @ q, np.eye(DIM))


@given(names, vectors)
def test_unbinding_is_exact(name: str, x: np.ndarray) -> None:
    q = role(name)
    assert np.array_equal(q.apply_transpose(q.apply(x)), x)
    assert np.array_equal(q.transpose().apply(q.apply(x)), x)


@given(names, vectors)
def test_apply_matches_the_dense_matrix(name: str, x: np.ndarray) -> None:
    q = role(name)
    assert np.allclose(q.apply(x), q.matrix() @ x)


@given(names, vectors)
def test_binding_preserves_norm_and_dot(name: str, x: np.ndarray) -> None:
    q = role(name)
    y = x[::-1].copy()
    assert np.isclose(np.linalg.norm(q.apply(x)), np.linalg.norm(x))
    assert np.isclose(q.apply(x) @ q.apply(y), x @ y)


@given(names, names)
def test_compose_is_the_matrix_product(a: str, b: str) -> None:
    qa, qb = role(a), role(b)
    assert np.array_equal(qa.compose(qb).matrix(), qa.matrix() @ qb.matrix())


@given(st.integers(0, 40))
def test_power_is_repeated_product(k: int) -> None:
    q = role("", "seq")
    expected = np.linalg.matrix_power(q.matrix(), k)
    assert np.array_equal(q.power(k).matrix(), expected)


def test_binding_does_not_commute() -> None:
    qa, qb = role("a"), role("b")
    assert not np.array_equal(qa.compose(qb).matrix(), qb.compose(qa).matrix())


def test_role_depends_on_seed_and_kind() -> None:
    base = role("a").matrix()
    assert not np.array_equal(base, SignedPermutation.from_seed(12, "key", "a", DIM).matrix())
    assert not np.array_equal(base, role("a", "seq").matrix())
    assert np.array_equal(base, role("a").matrix())


def test_role_is_pinned() -> None:
    q = SignedPermutation.from_seed(0, "key", "city", 8)
    # encoding 3: a Fisher-Yates shuffle from SplitMix64 words (jsonvec.codebook.roles.scatter_of)
    assert q.perm.tolist() == [7, 3, 0, 5, 6, 4, 2, 1]
    assert q.signs.tolist() == [-1.0, 1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0]


def test_norm_stays_one_under_repeated_binding() -> None:
    # method.md, claim 1: orthogonal matrices keep ||Q^k x|| = 1 where Gaussian ones drift
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1024)
    x /= np.linalg.norm(x)
    q = SignedPermutation.from_seed(0, "seq", "", 1024)
    for _ in range(50):
        x = q.apply(x)
    assert abs(np.linalg.norm(x) - 1.0) < 1e-12
