from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jsonvec import EncodeError, Settings
from jsonvec.leaves import (
    fold_case,
    log2_magnitude,
    ngrams,
    number_text,
    number_vector,
    string_vector,
)

DIM, SEED = 1024, 0
S = Settings()


def num_sim(a: float, b: float) -> float:
    return float(number_vector(a, SEED, DIM, S) @ number_vector(b, SEED, DIM, S))


def str_sim(a: str, b: str) -> float:
    return float(string_vector(a, SEED, DIM, S) @ string_vector(b, SEED, DIM, S))


@pytest.mark.parametrize("scale", [1e-9, 1e-3, 1.0, 1e6, 1e15])
def test_numbers_are_graded_at_every_scale(scale: float) -> None:
    near, mid, far = num_sim(100 * scale, 101 * scale), num_sim(100 * scale, 150 * scale), 0.0
    far = num_sim(100 * scale, 1e6 * 100 * scale)
    assert near > mid > far
    assert near > 0.7
    assert far < 0.1


def test_negative_numbers_are_graded_among_themselves() -> None:
    assert num_sim(-100, -101) > num_sim(-100, -150) > num_sim(-100, -1e8)
    assert abs(num_sim(100, -100)) < 0.15


def test_ids_differing_by_one_stay_apart() -> None:
    a = number_vector(342742724, SEED, DIM, S).astype(np.float32)
    b = number_vector(342742725, SEED, DIM, S).astype(np.float32)
    assert float(a @ b) < 0.95


def test_integers_past_two_to_the_53_are_distinct() -> None:
    assert num_sim(2**53, 2**53 + 1) < 0.95
    assert num_sim(2**53, 2**53) == pytest.approx(1.0)


def test_equal_values_in_other_spellings_share_a_vector() -> None:
    assert np.array_equal(number_vector(1, SEED, DIM, S), number_vector(1.0, SEED, DIM, S))


@given(st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False))
def test_number_vectors_are_unit(x: float) -> None:
    assert math.isclose(float(np.linalg.norm(number_vector(x, SEED, 64, S))), 1.0, rel_tol=1e-9)


def test_huge_integers_do_not_overflow() -> None:
    assert math.isclose(float(np.linalg.norm(number_vector(10**400, SEED, 64, S))), 1.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(bad: float) -> None:
    with pytest.raises(EncodeError, match="cannot encode the number"):
        number_vector(bad, SEED, DIM, S)


@given(st.floats(min_value=1e-300, max_value=1e300))
def test_log2_magnitude_is_close_to_log2(x: float) -> None:
    assert abs(log2_magnitude(x) - math.log2(x)) < 0.09


@given(st.floats(1e-300, 1e300), st.floats(1e-300, 1e300))
def test_log2_magnitude_is_monotone(a: float, b: float) -> None:
    if a < b:
        assert log2_magnitude(a) <= log2_magnitude(b)


def test_number_text() -> None:
    assert [number_text(v) for v in (7, -0.0, 2.5, 3.0, 1e20, 10**20)] == [
        "7",
        "0",
        "2.5",
        "3",
        "1e+20",
        "100000000000000000000",
    ]


def test_strings_are_soft() -> None:
    assert str_sim("Jonathan", "Johnathan") > 0.2
    assert str_sim("Jonathan", "Johnathan") > 2 * abs(str_sim("Jonathan", "Paris"))
    assert abs(str_sim("Jonathan", "Paris")) < 0.08
    assert str_sim("Paris", "paris") > 0.4


def test_a_typo_in_long_text_keeps_it_close() -> None:
    text = "The quick brown fox jumps over the lazy dog near the river bank"
    other = "A slow green turtle walks under the busy bridge by the lake shore"
    assert str_sim(text, text.replace("quick", "quikc")) > 0.45
    assert str_sim(text, other) < 0.25


@given(st.text(max_size=40))
def test_string_vectors_are_unit(text: str) -> None:
    assert math.isclose(float(np.linalg.norm(string_vector(text, SEED, 64, S))), 1.0)


def test_case_folding_is_ascii_only() -> None:
    assert fold_case("ÉCOLE Paris") == "École paris"


def test_ngrams_pad_the_ends() -> None:
    assert ngrams("ab", 3) == ["\x02ab", "ab\x03"]
    assert ngrams("", 3) == ["\x02\x03"]
