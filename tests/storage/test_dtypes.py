"""The stored types of vectors: packing float32 rows, unpacking them (compiled and NumPy give
the same floats), and what each loses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jsonvec.errors import ArgumentError
from jsonvec.storage import dtypes
from jsonvec.storage.dtypes import dtype_named, pack, unpack


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


finite = st.floats(-1.0, 1.0, width=32, allow_nan=False, allow_infinity=False)


def test_float32_is_kept_as_it_is() -> None:
    rows = unit_rows(5, 64)
    assert np.array_equal(unpack(pack(rows, "float32")), rows)
    assert pack(rows, "float32").dtype == np.dtype("<f4")


def test_float16_rounds_each_value_to_nearest() -> None:
    rows = unit_rows(5, 64)
    packed = pack(rows, "float16")
    assert packed.dtype == np.dtype("<f2")
    assert np.array_equal(unpack(packed), rows.astype(np.float16).astype(np.float32))


def test_int8_scales_each_row_to_127() -> None:
    rows = unit_rows(20, 256)
    packed = pack(rows, "int8")
    assert packed.dtype == np.int8
    assert (np.abs(packed).max(axis=1) == 127).all()
    back = unpack(packed)
    assert np.allclose(np.linalg.norm(back, axis=1), 1.0, atol=1e-6)
    assert (np.einsum("ij,ij->i", back, rows) > 0.9999).all()  # the same direction


def test_int8_of_a_zero_row_is_zero() -> None:
    rows = np.zeros((2, 8), dtype=np.float32)
    rows[1, 3] = 1.0
    packed = pack(rows, "int8")
    assert packed.tolist() == [[0] * 8, [0, 0, 0, 127, 0, 0, 0, 0]]
    assert unpack(packed).tolist() == [[0.0] * 8, [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]]


def test_packing_no_rows_gives_no_rows() -> None:
    for name in dtypes.DTYPES:
        packed = pack(np.zeros((0, 4), dtype=np.float32), name)
        assert packed.shape == (0, 4)
        assert unpack(packed).shape == (0, 4)


@pytest.mark.skipif(dtypes._int8_rows is None, reason="the compiled kernels are not built")
@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 40)), elements=finite))
def test_compiled_and_numpy_unpack_int8_alike(rows: np.ndarray) -> None:
    packed = pack(rows, "int8")
    numpy_way = np.empty(packed.shape, dtype=np.float32)
    dtypes._int8_numpy(packed, numpy_way)
    assert np.array_equal(unpack(packed).view(np.uint32), numpy_way.view(np.uint32))


@pytest.mark.skipif(dtypes._float16_rows is None, reason="the compiled kernels are not built")
def test_compiled_float16_widens_every_finite_half_exactly() -> None:
    halves = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    finite_halves = halves[np.isfinite(halves)].reshape(1, -1)
    expected = finite_halves.astype(np.float32)
    assert np.array_equal(unpack(finite_halves).view(np.uint32), expected.view(np.uint32))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(2, 64)), elements=finite))
def test_reduced_types_keep_cosines_close(rows: np.ndarray) -> None:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    rows = rows[(norms[:, 0] > 1e-3)]
    assume(len(rows) > 0)
    rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    exact = rows @ rows.T
    for name, tolerance in (("float16", 2e-3), ("int8", 0.05)):
        back = unpack(pack(rows, name))
        assert np.abs(back @ rows.T - exact).max() <= tolerance, name


def test_blocks_cover_the_rows_in_order() -> None:
    packed = pack(unit_rows(600, 16), "int8")
    pieces = list(dtypes.blocks(packed, rows=256))
    assert [len(p) for p in pieces] == [256, 256, 88]
    assert np.array_equal(np.concatenate(pieces), unpack(packed))


def test_an_unknown_type_is_named_with_the_choices() -> None:
    with pytest.raises(ArgumentError, match="unknown dtype 'float64': choose one of float32"):
        dtype_named("float64")
