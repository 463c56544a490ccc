from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jsonvec._utils.stable import norm, normalize, sum_last

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@given(arrays(np.float64, st.integers(1, 70), elements=finite))
def test_sum_last_matches_exact_sum(x: np.ndarray) -> None:
    assert math.isclose(float(sum_last(x)), math.fsum(x.tolist()), rel_tol=1e-9, abs_tol=1e-6)


def test_sum_last_works_on_rows() -> None:
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert sum_last(x).tolist() == [6.0, 22.0, 38.0]


def test_sum_last_is_a_fixed_pairwise_tree() -> None:
    # ((a + b) + (c + d)) differs from left-to-right summation for these values
    x = np.array([1e16, 1.0, -1e16, 1.0])
    assert float(sum_last(x)) == (1e16 + -1e16) + (1.0 + 1.0)


@given(arrays(np.float64, st.integers(1, 40), elements=finite))
def test_normalize_gives_unit_or_zero(x: np.ndarray) -> None:
    n = float(norm(normalize(x)))
    if np.any(x != 0) and float(norm(x)) > 1e-150:
        assert math.isclose(n, 1.0, rel_tol=1e-12)
    elif not np.any(x != 0):
        assert n == 0.0
