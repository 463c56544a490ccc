from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from jsonvec import EncodeError, Settings
from jsonvec.encoding.leaves import (
    LeafCoder,
    constant_vector,
    fold_case,
    log2_magnitude,
    number_vector,
    string_vector,
)

DIM, SEED = 1024, 0
S = Settings()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def num_sim(a: float, b: float) -> float:
    return cosine(number_vector(a, SEED, DIM, S), number_vector(b, SEED, DIM, S))


def str_sim(a: str, b: str) -> float:
    return cosine(string_vector(a, SEED, DIM, S), string_vector(b, SEED, DIM, S))


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
def test_number_vectors_are_unit_in_expectation(x: float) -> None:
    # parts are scaled by their expected norms; atoms that meet in a block add or take a
    # little (anchors of one entry each: two that meet move the norm by up to a quarter)
    assert 0.6 < float(np.linalg.norm(number_vector(x, SEED, DIM, S))) < 1.4


def test_huge_integers_do_not_overflow() -> None:
    assert 0.75 < float(np.linalg.norm(number_vector(10**400, SEED, DIM, S))) < 1.25
    assert num_sim(10**400, 10**400 + 1) < 0.95
    assert num_sim(10**400, 10**400 + 1) > num_sim(10**400, 10**300)


def test_batches_of_leaves_equal_single_leaves() -> None:
    coder = LeafCoder(SEED, DIM, S)
    numbers = [0, 1, -1.5, 2**60, 10**30, 1e-300, 7]
    table = coder.numbers(numbers)
    for i, x in enumerate(numbers):
        assert np.array_equal(table.dense(i, DIM), number_vector(x, SEED, DIM, S))
    texts = ["", "a", "Paris", "new york", "x" * 2000]
    strings = coder.strings(texts)
    for i, text in enumerate(texts):
        assert np.array_equal(strings.dense(i, DIM), string_vector(text, SEED, DIM, S))


def test_constants_are_distinct_atoms() -> None:
    vectors = [constant_vector(c, SEED, DIM, S) for c in ("true", "false", "null", "{}", "[]")]
    gram = np.stack(vectors) @ np.stack(vectors).T
    assert np.allclose(np.diag(gram), 1.0)
    assert np.abs(gram[~np.eye(5, dtype=bool)]).max() < 0.2
    with pytest.raises(ValueError, match="not a constant"):
        constant_vector("maybe", SEED, DIM, S)


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


def test_equal_numbers_share_their_exact_atom() -> None:
    assert np.array_equal(number_vector(-0.0, SEED, DIM, S), number_vector(0, SEED, DIM, S))
    assert np.array_equal(number_vector(2**60, SEED, DIM, S), number_vector(2.0**60, SEED, DIM, S))
    assert not np.array_equal(
        number_vector(1e20, SEED, DIM, S), number_vector(10**20 + 1, SEED, DIM, S)
    )


def test_strings_are_soft() -> None:
    assert str_sim("Jonathan", "Johnathan") > 0.5
    assert str_sim("Jonathan", "Johnathan") > 4 * abs(str_sim("Jonathan", "Paris"))
    assert abs(str_sim("Jonathan", "Paris")) < 0.15
    assert str_sim("Paris", "paris") > 0.4


@pytest.mark.parametrize(
    ("original", "edited", "rival"),
    [
        ("2021/03/15", "2021/03/1x", "2021/04/19"),  # substitution: one place lost
        ("2021/03/15", "2021/30/15", "2021/31/25"),  # a swap costs less than two substitutions
        ("vadim@truegate.com", "vadim@truegat.com", "vadim@truedate.com"),  # a shift keeps a trace
        ("0012345", "0012354", "0012359"),
    ],
)
def test_one_edit_keeps_the_original_nearest(original: str, edited: str, rival: str) -> None:
    """The position trace: each string nearer its one-edit copy than a rival two edits away."""
    assert str_sim(edited, original) > str_sim(edited, rival)


def test_a_typo_in_long_text_keeps_it_close() -> None:
    text = "The quick brown fox jumps over the lazy dog near the river bank"
    other = "A slow green turtle walks under the busy bridge by the lake shore"
    assert str_sim(text, text.replace("quick", "quikc")) > 0.45
    assert str_sim(text, other) < 0.25


def repeats_a_piece(text: str) -> bool:
    """Whether a string's n-grams (of its folded, padded text) or words repeat."""
    padded = "\x02" + fold_case(text) + "\x03"
    grams = [padded[i : i + S.ngram] for i in range(max(len(padded) - S.ngram + 1, 1))]
    words = fold_case(text).split()
    return len(set(grams)) < len(grams) or len(set(words)) < len(words)


@given(st.text(max_size=40))
def test_string_vectors_are_unit_in_expectation(text: str) -> None:
    """Each part is a unit bundle of distinct pieces; a repeated piece counts more (a bag)."""
    assume(not repeats_a_piece(text))
    assert 0.7 < float(np.linalg.norm(string_vector(text, SEED, DIM, S))) < 1.4


def test_case_folding_is_ascii_only() -> None:
    assert fold_case("ÉCOLE Paris") == "École paris"
